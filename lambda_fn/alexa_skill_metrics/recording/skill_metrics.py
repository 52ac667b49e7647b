"""``SkillMetrics``: the whole integration of the recorder into an ASK SDK skill.

Example
-------
>>> from ask_sdk_core.skill_builder import SkillBuilder
>>> sb = SkillBuilder()
>>> metrics = SkillMetrics(table_name="skill-metrics", pseudonym_key="a-secret-of-16-bytes-or-more")
>>> lambda_handler = metrics.lambda_handler(sb)  # outside Lambda: says once that writes are inline
... # doctest: +ELLIPSIS
{"level":"INFO",..."message":"skill metrics written inline, before the reply",...}
>>> callable(lambda_handler)
True
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from alexa_skill_metrics import telemetry
from alexa_skill_metrics.config import ENV_TABLE, Settings
from alexa_skill_metrics.exceptions import ConfigurationError
from alexa_skill_metrics.recording.interceptors import (
    RecordingEscapeHandler,
    RecordingExceptionHandler,
    RecordingRequestInterceptor,
    RecordingResponseInterceptor,
)
from alexa_skill_metrics.recording.recorder import Recorder

if TYPE_CHECKING:
    from ask_sdk_core.skill_builder import SkillBuilder
    from mypy_boto3_dynamodb import DynamoDBClient

    from alexa_skill_metrics.recording.lambda_extension import ExtensionDelivery
    from alexa_skill_metrics.recording.webservice_handler import Rejections
    from alexa_skill_metrics.storage.delivery import Delivery

LambdaHandler = Callable[[Any, Any], Any]
H = TypeVar("H", bound=LambdaHandler)
T = TypeVar("T")


class SkillMetrics:
    """Records every request of a skill as one event in DynamoDB.

    Configuration comes from the environment (``METRICS_TABLE``, ``METRICS_STAGE``,
    ``METRICS_PSEUDONYM_KEY``, ``METRICS_RETENTION_DAYS``, ``METRICS_TIMEOUT_MS``,
    ``METRICS_DELIVERY``, ``METRICS_RELEASE``, ``METRICS_SLOT_VALUES``); keyword arguments
    override it. A missing or invalid setting is logged once, as an error naming the setting, and
    recording is switched off: the skill keeps answering.

    In Lambda (``AWS_LAMBDA_RUNTIME_API`` set, ``METRICS_DELIVERY=auto``), the handler built by
    ``lambda_handler``/``wrap`` during init writes each event after the reply has been posted
    (``recording.lambda_extension``); anywhere else, or if Lambda refuses the registration, the
    write is inline, and the log says so once.

    Parameters
    ----------
    settings:
        A complete ``Settings``; when given, the environment is not read.
    client:
        A boto3 DynamoDB client to write with; by default one is built on the first request.
    environ:
        Where to read the environment from (tests); defaults to ``os.environ``.
    **overrides:
        Any ``Settings`` field: ``table_name``, ``stage``, ``pseudonym_key``, ``retention_days``,
        ``timeout_ms``, ``delivery``, ``release`` (a label such as a git commit, which names
        the release instead of the Lambda function version: how a web service names its own),
        ``slot_values`` (``{"OrderIntent": ["dish"]}``: the slots whose unresolved values are
        recorded, personal built-in types refused; ``recording.slot_values``).
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        client: DynamoDBClient | None = None,
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> None:
        resolved: Settings | None
        try:
            base = settings if settings is not None else Settings.from_env(environ, **overrides)
            resolved = base.validated(need_key=True)
        except ConfigurationError as exc:
            _say_recording_is_off(exc)
            resolved = None
        env = os.environ if environ is None else environ
        self._runtime_api = env.get("AWS_LAMBDA_RUNTIME_API", "")
        self._concurrent = bool(env.get("AWS_LAMBDA_MAX_CONCURRENCY"))
        self._extension: ExtensionDelivery | None = None
        self._delivery_chosen = False
        delivery: Delivery | None = None
        if resolved is not None and (client is not None or self._post_response_possible(resolved)):
            from alexa_skill_metrics.storage.writer import EventWriter

            writer = EventWriter(resolved, client)
            if self._post_response_possible(resolved):
                from alexa_skill_metrics.recording.lambda_extension import ExtensionDelivery

                delivery = self._extension = ExtensionDelivery(writer, self._runtime_api)
            else:
                from alexa_skill_metrics.storage.delivery import InlineDelivery

                delivery = InlineDelivery(writer)
        self.settings = resolved
        self.recorder = Recorder(resolved, delivery=delivery)
        self.request_interceptor = RecordingRequestInterceptor(self.recorder)
        self.response_interceptor = RecordingResponseInterceptor(self.recorder)
        self.exception_handler = RecordingExceptionHandler(self.recorder)  # register first
        self.escape_handler = RecordingEscapeHandler(self.recorder)  # by hand only: register last

    @property
    def enabled(self) -> bool:
        return self.recorder.enabled

    def lambda_handler(self, skill_builder: SkillBuilder) -> LambdaHandler:
        """Register the interceptors on ``skill_builder`` and return its wrapped Lambda handler.

        Call it after the skill's own interceptors are added: the request interceptor goes
        first and the response interceptor last, so handler time spans the whole dispatch. The
        recorder's exception handler goes first among exception handlers: it notes the
        exception's class and declines, so the skill's own exception handlers answer.
        """
        config = skill_builder.runtime_configuration_builder
        self.register(
            config.global_request_interceptors, config.global_response_interceptors, config.exception_handlers
        )
        return self.wrap(skill_builder.lambda_handler())

    def register(
        self, request_interceptors: list[Any], response_interceptors: list[Any], exception_handlers: list[Any]
    ) -> None:
        """Put the recorder's components into a skill's lists, once: the one placement rule.

        The request interceptor goes first and the response interceptor last; the exception
        handler goes first too, so it sees every exception, and declines it, so the skill's own
        exception handlers answer.
        """
        if self.request_interceptor not in request_interceptors:
            request_interceptors.insert(0, self.request_interceptor)
        if self.response_interceptor not in response_interceptors:
            response_interceptors.append(self.response_interceptor)
        if self.exception_handler not in exception_handlers:
            exception_handlers.insert(0, self.exception_handler)

    def wrap(self, handler: H) -> H:
        """Wrap any Lambda handler so that exception paths are recorded too.

        Exceptions are re-raised unchanged; the reply is returned as the handler made it, apart
        from the recorder's reserved session attribute.
        """
        recorder = self.recorder
        extension = self._extension if self._choose_delivery() else None

        @functools.wraps(handler)
        def wrapped(event: Any, context: Any) -> Any:
            invocation = recorder.begin(event, context)
            try:
                try:
                    response = handler(event, context)
                except BaseException as exc:
                    recorder.finish(invocation, error=exc)
                    raise
                recorder.finish(invocation, response=response)
                return response
            finally:
                if extension is not None:  # the event is submitted: the extension may write it
                    extension.invocation_ended(getattr(context, "aws_request_id", None))

        return wrapped  # type: ignore[return-value]

    def webservice(self, target: T, max_pending: int | None = None) -> T:
        """Record a skill served as a web service; returns what to serve it with.

        ``target`` is an ``ask-sdk-webservice-support`` ``WebserviceSkillHandler``, a
        ``flask-ask-sdk`` ``SkillAdapter`` (with its app) or the view a ``django-ask-sdk``
        ``SkillAdapter.as_view(...)`` returned. Every path is recorded as ``lambda_handler``
        records it; events are written on background threads (at most ``max_pending`` waiting,
        5,000 by default, then dropped and counted), so the reply never waits for DynamoDB. Requests that fail
        verification are counted, not recorded (``recording.webservice_handler``).

        Example (not run here: ask-sdk-webservice-support needs a working oscrypto, see README)::

            handler = metrics.webservice(WebserviceSkillHandler(skill=sb.create()))
            adapter = metrics.webservice(SkillAdapter(skill=sb.create(), skill_id=SKILL_ID, app=app))
            view = metrics.webservice(DjangoSkillAdapter.as_view(skill=sb.create()))
        """
        from alexa_skill_metrics.recording.webservice import instrument

        return instrument(self, target, max_pending=max_pending)

    @functools.cached_property
    def rejections(self) -> Rejections:
        """Web-service requests that failed verification in this container."""
        from alexa_skill_metrics.recording.webservice_handler import Rejections

        return Rejections()

    def _post_response_possible(self, settings: Settings) -> bool:
        # Lambda Managed Instances run invocations concurrently: not one invocation per freeze
        return settings.delivery == "auto" and bool(self._runtime_api) and not self._concurrent

    def _choose_delivery(self) -> bool:
        """Once: register the extension (in Lambda) or say that writes are inline. ``True``: post-response."""
        if self._delivery_chosen or not self.enabled:
            return self._extension is not None and self._extension.serving
        self._delivery_chosen = True
        if self._extension is not None:
            return self._extension.start()  # logs the fallback itself
        if self.settings is not None and self.settings.delivery == "inline":
            reason = "METRICS_DELIVERY=inline"
        elif self._concurrent:
            reason = "concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY)"
        else:
            reason = "no Lambda runtime API (AWS_LAMBDA_RUNTIME_API)"
        telemetry.info("skill metrics written inline, before the reply", reason=reason)
        return False


_SAID_OFF: set[str] = set()  # problems already logged by this process


def _say_recording_is_off(exc: ConfigurationError) -> None:
    """No table configured: a warning, once per process, since a skill's own tests import its
    module-level ``SkillMetrics()`` without the settings, often many times, and the skill works
    without it. A setting that is given but wrong stays an error, every time."""
    if exc.setting != ENV_TABLE:
        telemetry.error("skill metrics recording is off", setting=exc.setting, problem=str(exc))
        return
    if str(exc) in _SAID_OFF:
        return
    _SAID_OFF.add(str(exc))
    telemetry.warn(
        f"skill metrics recording is off ({exc}); the skill answers as usual. In the skill's own tests "
        "this is expected: set METRICS_TABLE and METRICS_PSEUDONYM_KEY to record, or "
        "POWERTOOLS_LOG_LEVEL=ERROR to silence this warning",
        setting=exc.setting,
        problem=str(exc),
    )
