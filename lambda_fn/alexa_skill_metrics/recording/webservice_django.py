"""The django-ask-sdk side of ``recording.webservice``: a view that records every request.

Django builds a new ``SkillAdapter`` (and with it a new ``WebserviceSkillHandler``) for every
request, so there is no long-lived handler to wrap. The recording view does what the view
``as_view`` returns does (build the adapter from the same arguments, ``setup``, ``dispatch``),
instrumenting each adapter's handler before it dispatches. Subclasses of ``SkillAdapter`` work
the same way; the view keeps the original's attributes (``csrf_exempt``, ``view_class``).

Example (in a project's ``urls.py``; not run here, it needs Django settings)::

    from django.urls import path
    from django_ask_sdk.skill_adapter import SkillAdapter

    urlpatterns = [path("alexa", metrics.webservice(SkillAdapter.as_view(skill=sb.create())))]
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from alexa_skill_metrics.recording.webservice_handler import install_interceptors, instrument_handler

if TYPE_CHECKING:
    from collections.abc import Callable

    from alexa_skill_metrics.recording.webservice_handler import Instrumentable


def recording_view(view: Any, metrics: Instrumentable) -> Callable[..., Any]:
    """A view equivalent to ``view`` (from ``SkillAdapter.as_view(...)``) that records each request."""
    from django_ask_sdk.skill_adapter import SkillAdapter

    cls = view.view_class
    if not (isinstance(cls, type) and issubclass(cls, SkillAdapter)):
        raise TypeError(f"metrics.webservice() takes a django-ask-sdk SkillAdapter view, not {cls!r}")
    initkwargs = view.view_initkwargs
    skill = initkwargs.get("skill")
    if skill is None:
        raise TypeError("the django-ask-sdk SkillAdapter view has no skill: as_view(skill=sb.create())")
    install_interceptors(metrics, skill)  # once: every request's adapter shares this skill

    @functools.wraps(view)
    def recorded(request: Any, *args: Any, **kwargs: Any) -> Any:
        adapter = cls(**initkwargs)
        instrument_handler(metrics, adapter._webservice_handler, install=False)
        adapter.setup(request, *args, **kwargs)
        return adapter.dispatch(request, *args, **kwargs)

    return recorded
