"""The sample skill without the recorder, for the runtime tests and the benchmark.

Imported with ``METRICS_TABLE`` unset, ``sample_skill.app``'s own recorder is off (it logs so
once): ``bare_handler`` is the plain ASK SDK skill.
"""

from __future__ import annotations

from sample_skill.app import build_handler

bare_handler = build_handler(None)
