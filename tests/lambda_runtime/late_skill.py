"""The sample skill built when the first invocation arrives, after init: Lambda refuses the extension."""

from __future__ import annotations

import importlib
from typing import Any


def handler(event: Any, context: Any) -> Any:
    app: Any = importlib.import_module("sample_skill.app")  # recorder and all, on first use
    return app.lambda_handler(event, context)
