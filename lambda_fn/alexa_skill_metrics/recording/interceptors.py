"""ASK SDK interceptors and exception handlers that feed the recorder.

The dispatcher passes arguments by keyword, so the parameter names are the SDK's own.

Example
-------
>>> from alexa_skill_metrics.config import Settings
>>> from alexa_skill_metrics.recording.recorder import Recorder
>>> recorder = Recorder(Settings(table_name="t", pseudonym_key="k" * 16))
>>> RecordingRequestInterceptor(recorder).__class__.__mro__[1].__name__
'AbstractRequestInterceptor'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ask_sdk_core.dispatch_components.exception_components import AbstractExceptionHandler
from ask_sdk_core.dispatch_components.request_components import (
    AbstractRequestInterceptor,
    AbstractResponseInterceptor,
)

if TYPE_CHECKING:
    from ask_sdk_core.handler_input import HandlerInput
    from ask_sdk_model.response import Response

    from alexa_skill_metrics.recording.recorder import Recorder


class RecordingRequestInterceptor(AbstractRequestInterceptor):
    """Register first among global request interceptors: handler time starts here."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def process(self, handler_input: HandlerInput) -> None:
        self._recorder.on_request(handler_input)


class RecordingResponseInterceptor(AbstractResponseInterceptor):
    """Register last among global response interceptors: it marks a normal reply."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def process(self, handler_input: HandlerInput, response: Response | None) -> None:
        self._recorder.on_response(handler_input, response)


class RecordingExceptionHandler(AbstractExceptionHandler):
    """Register first among exception handlers: notes the exception's class and declines it.

    ``can_handle`` always returns ``False``, so the skill's own exception handlers answer as
    they would without the recorder; with none that can, the ASK SDK re-raises the exception.
    """

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        self._note(handler_input, exception)
        return False

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        raise exception  # not reached: can_handle declines every exception

    def _note(self, handler_input: HandlerInput, exception: Exception) -> None:
        self._recorder.on_exception(handler_input, exception)


class RecordingEscapeHandler(RecordingExceptionHandler):
    """Register last among exception handlers, by hand: reached only when none answered.

    Without the Lambda wrapper nothing else sees an exception leave the skill; this handler
    records it as escaped and declines it, so the ASK SDK re-raises it unchanged.
    """

    def _note(self, handler_input: HandlerInput, exception: Exception) -> None:
        self._recorder.on_escape(handler_input, exception)
