"""The README's and the docs' screenshot, ``docs/assets/dashboard.png``, is written here.

The demo at its default size (``skill-metrics demo``'s own defaults) writes its dashboard; headless
Debian Chromium (as in ``test_dashboard_browser.py``) opens the file with every network request
blocked, waits until the overview's charts are drawn and takes the 1280 x 900 viewport, into
``test-artifacts/dashboard.png`` (not tracked: the demo's dates follow today's, so every run's
picture differs a little). Run it with ``UPDATE_SCREENSHOTS=1`` to write the committed picture
too, and commit that file when the dashboard changes: what the docs show is what the code draws.
"""

from __future__ import annotations

import os
import shutil
import struct
from pathlib import Path
from typing import Any

import pytest

from alexa_skill_metrics.cli.demo import run_demo
from tests.e2e.test_dashboard_browser import Session, chromium

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "assets" / "dashboard.png"
TAKEN = REPO / "test-artifacts" / "dashboard.png"
WIDTH, HEIGHT = 1280, 900


def demo_defaults() -> dict[str, Any]:
    """``customers``, ``days`` and ``seed`` as ``skill-metrics demo`` has them by default."""
    from alexa_skill_metrics.cli import cli

    params = {p.name: p.default for p in cli.commands["demo"].params}
    return {name: params[name] for name in ("customers", "days", "seed")}


def test_the_docs_screenshot_is_the_demos_dashboard(tmp_path: Path, tmp_path_factory: Any) -> None:
    # Given the demo's dashboard
    result = run_demo(**demo_defaults(), out_dir=str(tmp_path), quiet=True)
    (page_file,) = [f for f in result.files if f.suffix == ".html"]
    # When Chromium draws its first tab, offline
    with chromium(tmp_path_factory.mktemp("chromium-profile"), WIDTH, HEIGHT) as context:
        session = Session(context)
        session.page.goto(page_file.as_uri())
        session.page.wait_for_selector("html[data-ready='true']")
        charts = "[...document.querySelectorAll('#panel-overview .chart')]"
        session.page.wait_for_function(charts + ".every(d => d.dataset.drawn === 'true')")
        TAKEN.parent.mkdir(parents=True, exist_ok=True)
        session.page.screenshot(path=str(TAKEN))
    # Then the picture is a PNG of the viewport, drawn without any network
    assert session.blocked == [] and session.problems == []
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(TAKEN, SCREENSHOT)
    # And the committed picture is one such, of the same viewport
    for picture in (TAKEN, SCREENSHOT):
        data = picture.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (WIDTH, HEIGHT)
