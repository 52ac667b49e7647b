"""The dashboard end to end: a simulated week through the real pipeline, served by the reporting API
over SigV4-signed HTTP, written as one file and driven in headless Chromium.

The week is the sample skill's traffic (``Simulation``) recorded into moto's DynamoDB server,
aggregated from the table's stream, and reported by ``Reporter`` over the stored rollups. A
loopback HTTP server plays API Gateway: it checks each request's SigV4 signature and hands an HTTP
API payload 2.0 event to the reporting API (``build_app``). The dashboard is built from what that
endpoint returns, then opened from disk in Debian's Chromium through Playwright: every tab,
every chart's data against the views, no console errors, no network, a screenshot per tab
(``test-artifacts/dashboard/``), and at 1024, 1280 and 1920 px the layout: values tables that show
every number whole, every date label drawn (the last day's too), the chart toolbar clear of legends.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from urllib.request import Request, urlopen

import pytest

from alexa_skill_metrics.dashboard import VIEWS, EndpointError, ViewEndpoint, collect_views, write_dashboard
from alexa_skill_metrics.reporting import Reporter, ReportRequest
from tests.conftest import KEY
from tests.functional.conftest import mark_cold_starts
from tests.unit.test_dashboard import JAN5, SKILL, drawn, expected_charts, report

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "dashboard"
TABLE = "skill-metrics-dashboard"
WEEK_AS_OF = JAN5 + 7 * 86_400_000 + 3_600_000
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WIDTH = 1280
WIDTHS = (1024, 1280, 1920)

# What a reader would see wrong in the open tab: any table cell or values table narrower than its
# content (numbers cut at the card's edge), date labels Plotly hid (it hides a label that would run
# past the chart), the toolbar's box over the legend's. Details are opened so tables are laid out.
LAYOUT_PROBE = """panel => {
  const found = {clipped: [], hiddenTicks: [], lastTicks: [], overlaps: []};
  const root = document.querySelector(panel);
  root.querySelectorAll('details').forEach(d => { d.open = true; });
  root.querySelectorAll('td, th').forEach(cell => {
    if (cell.scrollWidth > cell.clientWidth) { found.clipped.push(cell.textContent); }
  });
  root.querySelectorAll('.scroll').forEach(box => {
    if (box.scrollWidth > box.clientWidth) { found.clipped.push(box.closest('figure').id); }
  });
  const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  root.querySelectorAll('.chart').forEach(div => {
    const labels = [...div.querySelectorAll('g.xtick text')];
    labels.filter(t => getComputedStyle(t).display === 'none')
      .forEach(t => found.hiddenTicks.push(div.id + ': ' + t.textContent));
    if (div.layout.xaxis && div.layout.xaxis.type === 'date' && div.data.length) {
      found.lastTicks.push({id: div.id, last: div.data[0].x[div.data[0].x.length - 1],
                            labels: labels.map(t => t.textContent)});
    }
    const bar = div.querySelector('.modebar'), legend = div.querySelector('g.infolayer > g.legend');
    if (bar && legend && hit(bar.getBoundingClientRect(), legend.getBoundingClientRect())) {
      found.overlaps.push(div.id);
    }
  });
  return found;
}"""


def week_params(period: str) -> dict[str, str]:
    return {"startTime": "2026-01-05T00:00:00Z", "endTime": "2026-01-12T00:00:00Z", "period": period}


# --- the data: a simulated week through the real pipeline ------------------------------------------------


@pytest.fixture(scope="module")
def reporter() -> Iterator[Reporter]:
    """The reporting API's in-process ``Reporter`` over the rollups the aggregator stored for the week."""
    import boto3

    from alexa_skill_metrics import SkillMetrics
    from alexa_skill_metrics.aggregation.stream import drain_stream
    from alexa_skill_metrics.cli.local import embedded_dynamodb
    from alexa_skill_metrics.reporting import StoredRollups
    from alexa_skill_metrics.storage.rollups import RollupStore
    from alexa_skill_metrics.storage.table import create_table
    from sample_skill.app import SLOT_VALUES, build_handler
    from sample_skill.traffic import Simulation

    with embedded_dynamodb() as endpoint:
        client = boto3.client(
            "dynamodb", endpoint_url=endpoint, region_name="us-east-1",
            aws_access_key_id="local", aws_secret_access_key="local",
        )  # fmt: skip
        create_table(client, TABLE)
        metrics = SkillMetrics(  # the sample skill's opt-in: the Voice model tab lists unresolved values
            table_name=TABLE,
            pseudonym_key=KEY,
            client=ColdStarting(client),
            slot_values=SLOT_VALUES,  # type: ignore[arg-type]
        )
        Simulation(customers=40, days=7, seed=11, start_ms=JAN5, skill_id=SKILL).run(build_handler(metrics))
        drained = drain_stream(TABLE, dynamodb=client)
        assert drained.events > 0 and not drained.failed
        yield Reporter(StoredRollups(RollupStore(TABLE, client)), clock=lambda: WEEK_AS_OF)


class ColdStarting:
    """The recorder's client, marking some utterances as cold starts (one process has only one)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def put_item(self, **kwargs: Any) -> Any:
        mark_cold_starts([kwargs["Item"]])
        return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def in_process(reporter: Reporter, params: dict[str, str]) -> dict[str, dict[str, Any]]:
    request = ReportRequest.from_params(SKILL, params)
    return collect_views(lambda name: reporter.view(name, request))


# --- a loopback API Gateway that checks SigV4 ---------------------------------------------------------


def expected_authorization(method: str, url: str, headers: Any) -> str:
    """The Authorization header SigV4 gives this request with the test's credentials (env: testing)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    signer = SigV4Auth(Credentials("testing", "testing", "testing"), "execute-api", "us-east-1")
    request = AWSRequest(method=method, url=url, headers={"Accept": headers.get("Accept", "")})
    request.context["timestamp"] = headers.get("X-Amz-Date", "")
    request.headers["X-Amz-Date"] = request.context["timestamp"]
    request.headers["X-Amz-Security-Token"] = headers.get("X-Amz-Security-Token", "")
    signature = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    signed = signer.signed_headers(signer.headers_to_sign(request))
    return (
        f"AWS4-HMAC-SHA256 Credential={signer.scope(request)}, SignedHeaders={signed}, Signature={signature}"
    )


@pytest.fixture
def api(reporter: Reporter) -> Iterator[str]:
    """The reporting API behind a loopback HTTP server that answers 403 unless SigV4 verifies."""
    from alexa_skill_metrics.reporting.api import build_app, http_event

    app = build_app(reporter)

    class Gateway(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = f"http://{self.headers['Host']}{self.path}"
            if self.headers.get("Authorization") != expected_authorization("GET", url, self.headers):
                self.answer(403, json.dumps({"message": "Forbidden"}))
                return
            path, _, query = self.path.partition("?")
            response = app.resolve(http_event(path, dict(parse_qsl(query))), None)
            self.answer(response["statusCode"], response["body"])

        def answer(self, status: int, body: str) -> None:
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_views_over_signed_http_equal_the_in_process_views(api: str, reporter: Reporter) -> None:
    # Given the deployed-style API and the caller's boto3 credentials (the environment's)
    params = week_params("P1D")
    # When the dashboard's views are fetched from the endpoint
    remote = collect_views(ViewEndpoint(api, SKILL, params).fetch)
    # Then they are what the reporting code returns in process for the same range, percentiles included
    assert remote == in_process(reporter, params)
    assert remote["overview"]["utterances"]["total"] > 0
    assert remote["utterances"]["totals"]["coldStarts"] > 0 and remote["friction"]["prompts"]


def test_the_gateway_refuses_unsigned_requests_and_the_client_reports_api_errors(api: str) -> None:
    # Given an unsigned request, Then the stand-in gateway refuses it (so the test above proves signing)
    with pytest.raises(Exception, match="403"):
        urlopen(Request(f"{api}/v1/skills/{SKILL}/views/overview?startTime=2026-01-05T00:00:00Z"), timeout=5)
    # Given a bad parameter, Then the client's error carries the API's status, message and parameter
    with pytest.raises(EndpointError, match=r"^period ") as raised:
        ViewEndpoint(api, SKILL, {**week_params("P1D"), "period": "PT5M"}).fetch("overview")
    assert raised.value.status == 400 and raised.value.parameter == "period"


# --- the browser ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Headless Debian Chromium through Playwright, with a fresh profile; skipped when either is absent."""
    with chromium(tmp_path_factory.mktemp("chromium-profile"), WIDTH, 900) as context:
        yield context


@contextmanager
def chromium(profile: Path, width: int, height: int) -> Iterator[Any]:
    """A browser context of headless Debian Chromium with the viewport given; skips without one."""
    if not Path(CHROMIUM).exists():
        pytest.skip(
            "Debian's chromium is not installed (/usr/bin/chromium): run .ci/setup-browser.sh as root"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api",
        reason="playwright is not installed: pip install -e '.[dev]' or .ci/setup-browser.sh",
    )
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": width, "height": height},
        )
        try:
            yield context
        finally:
            context.close()


class Session:
    """One page of the browser with everything it logged and every request it tried, recorded."""

    def __init__(self, context: Any) -> None:
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.page = context.new_page()
        self.page.route(re.compile(r"^(?!file:)"), self._block)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def _console(self, message: Any) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"{message.type}: {message.text}")

    def _block(self, route: Any) -> None:
        self.blocked.append(route.request.url)
        route.abort()

    def open_tab(self, view: str) -> list[dict[str, Any]]:
        """Click the tab, wait until its charts are drawn; return each chart's id, data and drawn traces."""
        self.page.click(f"#tab-{view}")
        panel = f"#panel-{view}"
        self.page.wait_for_function(
            "p => [...document.querySelectorAll(p + ' .chart')].every(d => d.dataset.drawn === 'true')",
            arg=panel,
        )
        charts: list[dict[str, Any]] = self.page.eval_on_selector_all(
            f"{panel} .chart",
            """divs => divs.map(div => ({
                id: div.dataset.figure,
                data: div.data.map(t => ({name: t.name, x: t.x, y: t.y, orientation: t.orientation,
                                          visible: t.visible === undefined ? true : t.visible})),
                drawnTraces: div.querySelectorAll('g.trace').length,
                svg: div.querySelectorAll('svg.main-svg').length,
            }))""",
        )
        return charts


def check_layout(page: Any, view: str, period: str) -> None:
    """The open tab reads whole at this width: see ``LAYOUT_PROBE``."""
    # Plotly's toolbar shows on hover: rest the pointer on the tab's first chart, as a reader would
    if page.locator(f"#panel-{view} .chart").count():
        page.hover(f"#panel-{view} .chart >> nth=0")
    found = page.evaluate(LAYOUT_PROBE, f"#panel-{view}")
    assert found["clipped"] == [], f"{view}: clipped in their cell or table"
    assert found["hiddenTicks"] == [], f"{view}: date labels Plotly hid"
    assert found["overlaps"] == [], f"{view}: the toolbar covers the legend"
    for chart in found["lastTicks"]:
        last = datetime.fromisoformat(chart["last"])
        if period == "P1D":  # a label per day shown, the last day's always among them
            assert chart["labels"][-1] == f"{last:%a %b} {last.day}", chart
        else:  # hourly: the last day's midnight is labelled
            assert any(label.endswith(f"{last:%b} {last.day}") for label in chart["labels"]), chart


def check_dashboard(
    context: Any,
    path: Path,
    views: dict[str, dict[str, Any]],
    shots: str,
    width: int = WIDTH,
    period: str = "P1D",
) -> Session:
    """Open the file, go through every tab and hold every chart to the views; screenshots per tab."""
    expected = expected_charts(views)
    session = Session(context)
    session.page.set_viewport_size({"width": width, "height": 900})
    session.page.goto(path.as_uri())
    session.page.wait_for_selector("html[data-ready='true']")
    seen: set[str] = set()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        for chart in session.open_tab(view):
            # Each chart is drawn (an SVG, one group per visible trace) with the view's values
            assert chart["svg"] > 0, chart["id"]
            assert chart["drawnTraces"] >= sum(1 for t in chart["data"] if t["visible"] is True), chart["id"]
            assert drawn(chart) == expected[chart["id"]], chart["id"]
            seen.add(chart["id"])
        assert session.page.get_attribute(f"#tab-{view}", "aria-selected") == "true"
        assert session.page.is_hidden(f"#panel-{'overview' if view != 'overview' else 'customers'}")
        # The page fits the width: nothing scrolls sideways
        assert session.page.evaluate("document.documentElement.scrollWidth") <= width
        check_layout(session.page, view, period)
        session.page.screenshot(path=str(ARTIFACTS / f"{shots}-{view}.png"), full_page=True)
    assert seen == set(expected)
    return session


@pytest.mark.parametrize(("period", "width"), [*(("P1D", width) for width in WIDTHS), ("PT1H", min(WIDTHS))])
def test_every_tab_draws_the_apis_values_without_errors_or_network(
    browser: Any, api: str, period: str, width: int, tmp_path: Path
) -> None:
    # Given the dashboard written from the views the signed endpoint returned for the week
    views = collect_views(ViewEndpoint(api, SKILL, week_params(period)).fetch)
    path = write_dashboard(views, out=tmp_path / "metrics.html")
    # When Chromium opens it and goes through every tab, Then every chart holds those views' values
    session = check_dashboard(browser, path, views, f"week-{period}-{width}", width, period)
    # Then the page logged no error or warning and asked for nothing but itself
    assert session.problems == []
    assert session.blocked == [] and session.requests == [path.as_uri()]
    session.page.close()


def test_tooltips_show_exact_values_and_tabs_follow_the_keyboard(
    browser: Any, api: str, reporter: Reporter, tmp_path: Path
) -> None:
    # Given the weekly dashboard open on its overview
    views = in_process(reporter, week_params("P1D"))
    path = write_dashboard(views, out=tmp_path / "metrics.html")
    session = Session(browser)
    session.page.goto(path.as_uri())
    session.open_tab("overview")
    # When the pointer rests on the busiest day's utterances bar
    series = views["overview"]["series"]
    busiest = max(range(len(series)), key=lambda i: series[i]["utterances"])
    box = session.page.locator("#chart-overview-utterances g.trace.bars path").nth(busiest).bounding_box()
    assert box is not None
    session.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)  # Plotly's drag layer
    session.page.wait_for_selector(
        "#chart-overview-utterances .hoverlayer .hoverlabel, #chart-overview-utterances .hoverlayer .legend"
    )
    # Then the tooltip shows that day and its exact number of utterances
    tooltip = session.page.locator("#chart-overview-utterances .hoverlayer").text_content() or ""
    day = datetime.fromisoformat(series[busiest]["start"]).strftime("%a %Y-%m-%d")
    assert tooltip.startswith(day) and tooltip.endswith(f"{series[busiest]['utterances']:,}"), tooltip
    # When the arrow key moves along the tabs, Then the next tab is selected, focused and drawn
    session.page.focus("#tab-overview")
    session.page.keyboard.press("ArrowRight")
    assert session.page.get_attribute("#tab-customers", "aria-selected") == "true"
    assert session.page.evaluate("document.activeElement.id") == "tab-customers"
    session.page.wait_for_selector("#chart-customers-over-time[data-drawn='true']")
    assert session.problems == []
    session.page.close()


def test_a_skill_without_data_shows_its_empty_state_in_the_browser(browser: Any, tmp_path: Path) -> None:
    # Given the dashboard of a skill with nothing recorded in the range (views from the reporting code)
    views = report([])
    path = write_dashboard(views, out=tmp_path / "empty.html")
    # When Chromium goes through every tab
    session = check_dashboard(browser, path, views, "empty")
    # Then the empty state is visible above the tabs, and the page is still error-free and offline
    session.page.click("#tab-overview")
    assert session.page.is_visible("text=No data for this skill in this range")
    session.page.screenshot(path=str(ARTIFACTS / "empty-overview.png"), full_page=True)
    assert session.problems == [] and session.blocked == []
    session.page.close()


# --- the Retention and Paths tabs -------------------------------------------------------------------------


def sankey_links(tree: dict[str, Any], minimum: float) -> list[int]:
    """The tree's children's sessions in the Sankey's drawing order (depth first), small ones left out."""
    values: list[int] = []
    for child in tree["children"]:
        if child["sessions"] >= minimum:
            values.append(child["sessions"])
            if child["node"] is not None:
                values += sankey_links(child["node"], minimum)
    return values


def test_retention_and_paths_tabs_draw_the_apis_values(browser: Any, api: str, tmp_path: Path) -> None:
    from alexa_skill_metrics.dashboard.collect import collect_extra_views
    from alexa_skill_metrics.dashboard.journeys import MIN_LINK_SHARE, shown_cohorts

    # Given the dashboard with the retention and paths views the signed endpoint returned
    endpoint = ViewEndpoint(api, SKILL, week_params("P1D"))
    views = collect_views(endpoint.fetch)
    views.update(collect_extra_views(endpoint.fetch))
    retention, paths = views["retention"], views["paths"]
    assert retention["customers"] > 0 and paths["sessions"] > 0
    path = write_dashboard(views, out=tmp_path / "metrics.html")
    # When Chromium opens both tabs
    session = Session(browser)
    session.page.goto(path.as_uri())
    session.page.wait_for_selector("html[data-ready='true']")
    drawn_data: dict[str, Any] = {}
    for view in ("retention", "paths"):
        session.open_tab(view)
        drawn_data.update(
            session.page.eval_on_selector_all(
                f"#panel-{view} .chart",
                """divs => Object.fromEntries(divs.map(div => [div.dataset.figure, {
                    z: div.data[0].z, text: div.data[0].text, links: div.data[0].customdata || null,
                    drawnLinks: div.layout.shapes
                      ? div.layout.shapes.filter(shape => shape.name === 'band').length : 0,
                    drawnShapes: div.querySelectorAll('.shapelayer path').length,
                    shapes: div.layout.shapes ? div.layout.shapes.length : 0,
                }]))""",
            )
        )
        session.page.screenshot(path=str(ARTIFACTS / f"week-{view}.png"), full_page=True)
    # Then the heatmaps hold every cohort's shares from the first with customers, as the API returned
    # them, with counts as text
    cohorts = shown_cohorts(retention)
    assert cohorts and cohorts[0]["customers"] and cohorts[-1] == retention["cohorts"][-1]
    width = max(len(c["retention"]) for c in cohorts)
    heatmaps = (
        ("retention-heatmap", "onShare", "on"),
        ("retention-heatmap-after", "onOrAfterShare", "onOrAfter"),
    )
    for chart_id, share, key in heatmaps:
        heat = drawn_data[chart_id]
        assert heat["z"] == [
            [cell[share] for cell in c["retention"]] + [None] * (width - len(c["retention"])) for c in cohorts
        ]
        for row, cohort in zip(heat["text"], cohorts, strict=True):
            for text, cell in zip(row, cohort["retention"], strict=False):
                assert text.startswith(f"{cell[key]:,}<br>"), (text, cell)
    # And the Sankey's bands are the path tree's children (far exits carried in bundles), each drawn
    sankey = drawn_data["paths-sankey"]
    expected = sankey_links(paths["tree"], max(1, paths["sessions"] * MIN_LINK_SHARE))
    assert sankey["links"] == expected and sankey["drawnLinks"] >= len(expected) > 3
    assert sankey["drawnShapes"] == sankey["shapes"]
    # And the top-transitions table lists the API's transitions
    first_row = session.page.locator("#paths-transitions tbody tr").first.inner_text().split("\t")
    top = paths["transitions"][0]
    assert first_row[:3] == [top["source"], top["target"], f"{top['sessions']:,}"]
    assert session.problems == [] and session.blocked == []
    session.page.close()


# --- the demo's dashboard as a new user sees it (issue 20, item 7) ----------------------------------------

# Geometry read from the rendered page: boxes in CSS pixels (getBoundingClientRect).
GEOMETRY_PROBE = """panel => {
  const root = document.querySelector(panel);
  root.querySelectorAll('details').forEach(d => { d.open = true; });
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {
    scrolls: [...root.querySelectorAll('.scroll')].map(s => ({
      id: s.closest('figure').id, scrollWidth: s.scrollWidth, clientWidth: s.clientWidth,
      box: box(s), lastHead: box(s.querySelector('thead th:last-child')),
      font: parseFloat(getComputedStyle(s.querySelector('td') || s).fontSize)})),
    cells: [...root.querySelectorAll('.chart g.hm text, .chart .heatmaplayer text, .chart text.textpoint')]
      .filter(t => t.textContent.includes('%'))
      .map(t => ({text: t.textContent, font: parseFloat(getComputedStyle(t).fontSize)})),
    text: root.innerText,
  };
}"""

PATHS_PROBE = """() => {
  const div = document.getElementById('chart-paths-sankey');
  const box = e => { const r = e.getBoundingClientRect();
                     return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  const shapes = [...div.querySelectorAll('.shapelayer path')];
  const named = i => div.layout.shapes[Number(shapes[i].getAttribute('data-index'))].name;
  const bands = shapes.filter((p, i) => named(i) === 'band');
  const nodes = shapes.filter((p, i) => named(i) === 'node').map(box);
  // A label is over a band where a point of its box lies inside the band's filled shape.
  const overBand = r => {
    const points = [];
    for (const fx of [0.05, 0.5, 0.95]) for (const fy of [0.1, 0.5, 0.9]) {
      points.push([r.left + fx * (r.right - r.left), r.top + fy * (r.bottom - r.top)]);
    }
    return bands.some(band => points.some(([x, y]) => {
      const local = new DOMPoint(x, y).matrixTransform(band.getScreenCTM().inverse());
      return band.isPointInFill(local);
    }));
  };
  const labels = [...div.querySelectorAll('g.annotation')].map((g, i) => {
    const r = box(g.querySelector('text'));
    return {text: g.textContent, column: div.layout.annotations[i].name, box: r, overBand: overBand(r)};
  });
  return {labels, nodes, bands: bands.length};
}"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """The dashboard ``skill-metrics demo`` writes with its defaults (40 customers, 28 days), in process."""
    from alexa_skill_metrics.cli.demo import run_demo

    result = run_demo(
        customers=40, days=28, seed=42, out_dir=str(tmp_path_factory.mktemp("demo")), quiet=True
    )
    return result.files[-1], result.views


Box = dict[str, float]


def overlap(a: Box, b: Box) -> bool:
    return (
        a["left"] < b["right"]
        and b["left"] < a["right"]
        and a["top"] < b["bottom"]
        and b["top"] < a["bottom"]
    )


def inside(inner: Box, outer: Box) -> bool:
    return (
        outer["left"] <= inner["left"] and inner["right"] <= outer["right"]
        and outer["top"] <= inner["top"] and inner["bottom"] <= outer["bottom"]
    )  # fmt: skip


def open_demo_tab(browser: Any, path: Path, view: str) -> Session:
    session = Session(browser)
    session.page.set_viewport_size({"width": WIDTH, "height": 900})
    session.page.goto(path.as_uri())
    session.page.wait_for_selector("html[data-ready='true']")
    session.open_tab(view)
    return session


def shoot(session: Session, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    session.page.screenshot(path=str(ARTIFACTS / f"demo-{name}.png"), full_page=True)


def check_retention(session: Session, retention: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = session.page.evaluate(GEOMETRY_PROBE, "#panel-retention")
    shoot(session, name)
    # Every week's column is inside its scroll box: nothing to scroll sideways, the last heading whole
    for scroll in found["scrolls"]:
        assert scroll["scrollWidth"] <= scroll["clientWidth"], scroll
        assert scroll["lastHead"]["right"] <= scroll["box"]["right"] + 0.5, scroll
        assert scroll["font"] >= 12, scroll
    # The heatmaps' cell text is readable
    assert found["cells"] and min(cell["font"] for cell in found["cells"]) >= 12, found["cells"][:3]
    # The * is explained exactly when some cell or cohort carries it
    marked = any(
        c["inProgress"] or any(x["inProgress"] for x in c["retention"]) for c in retention["cohorts"]
    )
    assert ("* marks" in found["text"]) == marked == ("*" in found["text"].replace("* marks", ""))
    return found


def test_the_demos_retention_starts_at_its_first_customers_and_reads_whole(
    browser: Any, demo: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    path, views = demo
    retention = views["retention"]
    session = open_demo_tab(browser, path, "retention")
    found = check_retention(session, retention, "retention")
    # Then no row is a cohort of nobody before the first customers, and the tab's range starts there
    first = next(c for c in retention["cohorts"] if c["customers"])
    shown = session.page.locator("#chart-retention-heatmap").evaluate("d => d.data[0].y")
    assert shown[0].startswith(first["start"][:10]) and not shown[0].endswith("(0)")
    assert session.page.inner_text("#panel-retention .range").startswith(first["start"][:10])
    assert f"{first['start'][:10]}" in found["text"]
    assert session.problems == []
    session.page.close()


def test_twelve_weeks_of_cohorts_fit_the_retention_tab(
    browser: Any, demo: tuple[Path, dict[str, dict[str, Any]]], tmp_path: Path
) -> None:
    # Given twelve weekly cohorts of thousands of customers, the last week still in progress
    from alexa_skill_metrics.periods import format_time

    _, views = demo
    weeks = 12
    start = 1_767_571_200_000  # Mon 2026-01-05
    week = 7 * 86_400_000
    cohorts = [
        {"start": format_time(start + i * week), "customers": 12_345, "inProgress": i == weeks - 1,
         "retention": [{"offset": k, "start": format_time(start + (i + k) * week), "on": 12_345 - k,
                        "onShare": 1.0 - k / 100, "onOrAfter": 12_345 - k, "onOrAfterShare": 1.0 - k / 100,
                        "inProgress": i + k == weeks - 1} for k in range(weeks - i)]}
        for i in range(weeks)
    ]  # fmt: skip
    retention = {**views["retention"], "cohorts": cohorts, "customers": 12_345 * weeks}
    wide = write_dashboard({**views, "retention": retention}, out=tmp_path / "metrics.html")
    # When the Retention tab is open at 1280 px, Then every week reads whole, * explained
    session = open_demo_tab(browser, wide, "retention")
    check_retention(session, retention, "retention-12-weeks")
    session.page.close()


def test_the_path_tree_has_a_column_per_depth_and_labels_clear_of_each_other_and_the_bands(
    browser: Any, demo: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    path, views = demo
    session = open_demo_tab(browser, path, "paths")
    found = session.page.evaluate(PATHS_PROBE)
    shoot(session, "paths")
    labels = found["labels"]
    columns = sorted({label["column"] for label in labels}, key=lambda c: int(c.split()[1]))
    exits = [label for label in labels if label["column"] == columns[-1]]
    deepest = [label for label in labels if label["column"] == f"column {views['paths']['maxDepth']}"]
    # Then the exits have their own column, right of every depth-5 step
    assert exits and all(label["text"] in {"Skill ended", "User ended", "User did not respond",
                                           "Failed (error)", "Unknown reason", "Incomplete", "Active"}
                         or "respond" in label["text"] for label in exits)  # fmt: skip
    assert deepest and max(d["box"]["right"] for d in deepest) < min(e["box"]["left"] for e in exits)
    # And no two labels overlap, each sits inside its box, and none lies over a band
    overlapping = [
        (a["text"], b["text"])
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
        if overlap(a["box"], b["box"])
    ]
    assert overlapping == []
    assert [
        label["text"] for label in labels if not any(inside(label["box"], n) for n in found["nodes"])
    ] == []
    assert [label["text"] for label in labels if label["overBand"]] == []
    assert found["bands"] > 10 and session.problems == []
    session.page.close()


def test_every_latency_percentile_bar_reads_beside_a_cold_starts_p99(
    browser: Any, demo: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    path, views = demo
    # Given the demo's endpoint time, whose p99 holds cold starts' start-up (hundreds of ms)
    endpoint = views["utterances"]["totals"]["endpointMs"]
    assert endpoint["p99"] > 100 * endpoint["p50"]
    for view, chart in (("intents", "intents-latency"), ("friction", "quality-endpoint-by-intent")):
        session = open_demo_tab(browser, path, view)
        shoot(session, view)
        widths = session.page.eval_on_selector_all(
            f"#chart-{chart} g.trace.bars",
            "ts => ts.map(t => [...t.querySelectorAll('path')].map(p => p.getBoundingClientRect().width))",
        )
        # Then each percentile spans its own panel, and every intent's p50 bar is at least 20 px long
        assert len(widths) == 3 and all(max(trace) >= 100 for trace in widths), (chart, widths)
        assert min(widths[0]) >= 20, (chart, widths)
        session.page.close()
    # And the Intents table has each intent's failure rate
    session = open_demo_tab(browser, path, "intents")
    heads = session.page.locator("#intents-table thead th").all_inner_texts()
    assert "Failure rate" in heads
    column = heads.index("Failure rate")
    first = session.page.locator("#intents-table tbody tr").first.locator("th, td").nth(column).inner_text()
    assert first == f"{views['intents']['intents'][0]['failureRate']:.2%}"
    session.page.close()


def test_days_without_traffic_break_the_lines_with_a_marker_and_the_demo_has_cold_starts(
    browser: Any, demo: tuple[Path, dict[str, dict[str, Any]]]
) -> None:
    path, views = demo
    series = views["friction"]["series"]
    quiet = [i for i, point in enumerate(series) if point["utterances"] == 0]
    assert quiet, "the demo's traffic has a day without utterances"
    session = open_demo_tab(browser, path, "friction")
    shoot(session, "quality")
    drawn_lines = session.page.evaluate(
        """() => ['quality-friction-rate', 'quality-cold-starts'].map(id => {
          const div = document.getElementById('chart-' + id);
          const [line, marks] = div.querySelectorAll('g.trace.scatter');
          const moves = [...line.querySelectorAll('path.js-line')]
            .map(p => (p.getAttribute('d').match(/M/g) || []).length);
          return {id, segments: moves.reduce((a, b) => a + b, 0),
                  markers: marks ? marks.querySelectorAll('path.point').length : 0,
                  heights: [...line.querySelectorAll('path.point')].map(p => p.getBoundingClientRect().top)};
        })"""
    )
    friction, cold = drawn_lines
    # Then the friction-rate line breaks at each day without traffic, each marked on the axis
    assert friction["segments"] >= 2 and friction["markers"] == len(quiet), friction
    # And the demo's cold starts draw a cold-start share above zero: its points are not all at one height
    assert views["utterances"]["totals"]["coldStarts"] > 0
    assert max(cold["heights"]) - min(cold["heights"]) > 20, cold
    assert session.problems == []
    session.page.close()


@pytest.mark.parametrize("width", [min(WIDTHS), WIDTH])
def test_the_demos_releases_tab_draws_the_comparison_and_reads_whole(
    browser: Any, demo: tuple[Path, dict[str, dict[str, Any]]], width: int
) -> None:
    from alexa_skill_metrics.dashboard.releases import RATES

    path, views = demo
    comparison = views["releases"]["comparison"]
    # Given the demo's second release, which fails more often than the first
    assert comparison is not None and comparison["failedUtteranceRate"]["verdict"] == "worse"
    session = Session(browser)
    session.page.set_viewport_size({"width": width, "height": 900})
    session.page.goto(path.as_uri())
    session.page.wait_for_selector("html[data-ready='true']")
    # When the Releases tab is open
    charts = {chart["id"]: chart for chart in session.open_tab("releases")}
    shoot(session, f"releases-{width}")
    # Then the chart draws both releases' rates as the view gives them, one bar per rate
    base, cand = comparison["baseline"]["release"], comparison["candidate"]["release"]
    labels = [label for _, label in RATES]
    assert drawn(charts["releases-rates"]) == [
        (f"Release {base}", labels, [comparison[key]["baseline"] for key, _ in RATES]),
        (f"Release {cand}", labels, [comparison[key]["candidate"] for key, _ in RATES]),
    ]
    assert charts["releases-rates"]["drawnTraces"] >= 2 and charts["releases-rates"]["svg"] > 0
    # And the verdict and each prompt's exit rate are on the page, worst rise first
    text = session.page.inner_text("#panel-releases")
    assert f"{cand} against {base}" in text and comparison["verdict"] in text
    prompts = session.page.locator("#releases-prompt-exits tbody tr").all_inner_texts()
    assert [row.split("\t")[0] for row in prompts] == [r["intent"] for r in comparison["promptExitRates"]]
    assert len(prompts) >= 2
    # And nothing is cut off or scrolls sideways at this width, the ten tabs in one row
    assert session.page.evaluate("document.documentElement.scrollWidth") <= width
    tops = session.page.eval_on_selector_all(
        '[role="tab"]', "ts => ts.map(t => t.getBoundingClientRect().top)"
    )
    assert len(tops) == 10 and len(set(tops)) == 1, tops
    check_layout(session.page, "releases", "P1D")
    assert session.problems == [] and session.blocked == []
    session.page.close()
