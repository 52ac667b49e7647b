"""HTTP errors of the reporting API: a small family that carries its status code and the parameter at fault.

The status is a property of the class, never guessed from message text; the JSON body names the
parameter so a caller can fix the request without reading the server's logs.

Example
-------
>>> err = BadRequest("period", "is 'PT5M'; use SINGLE, PT15M, PT1H or P1D")
>>> err.status, err.body()["parameter"], err.body()["message"]
(400, 'period', "period is 'PT5M'; use SINGLE, PT15M, PT1H or P1D")
"""

from __future__ import annotations

from typing import Any

from alexa_skill_metrics.exceptions import SkillMetricsError


class HttpError(SkillMetricsError):
    """An error answered with ``status`` and a JSON body ``{statusCode, message, parameter}``."""

    status = 500

    def __init__(self, message: str, parameter: str | None = None) -> None:
        self.parameter = parameter
        self.message = message
        super().__init__(message)

    def body(self) -> dict[str, Any]:
        return {"statusCode": self.status, "message": self.message, "parameter": self.parameter}


class BadRequest(HttpError):
    """400: a parameter is missing, unparseable, out of range or not allowed here; says which one."""

    status = 400

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(f"{parameter} {problem}", parameter)


class NotFound(HttpError):
    """404: no such route."""

    status = 404

    def __init__(self, message: str = "Not found: the routes are GET /v1/skills/{skillId}/metrics, "
                 "GET /v1/skills/{skillId}/views/{view}, POST /v2/skills/{skillId}/metrics, "
                 "GET /v2/skills/metrics and GET /openapi.json") -> None:  # fmt: skip
        super().__init__(message)
