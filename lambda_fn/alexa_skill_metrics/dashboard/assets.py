"""The page's own CSS and JavaScript, inlined into every dashboard (no files to ship or fetch).

The script switches tabs (the WAI-ARIA tabs pattern: click, arrow keys, Home/End, ``#view`` in
the URL) and draws a tab's charts with Plotly the first time the tab is shown, because Plotly
cannot measure a hidden element. Each chart ``div`` gets ``data-drawn="true"`` once drawn, and
the page ``data-ready="true"`` once the first tab is set up; the browser test waits for both.
"""

from __future__ import annotations

CSS = """
:root {
  --ink: #212529; --muted: #495057; --line: #dee2e6; --page: #f4f5f7; --card: #ffffff;
  --accent: #1864ab; --accent-soft: #e7f0fb; --warn: #8a5a00; --warn-soft: #fff4e0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--page); font-size: 15px; line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; }
.wrap { max-width: 1260px; margin: 0 auto; padding: 0 24px; }
.page-header { background: var(--card); border-bottom: 1px solid var(--line); }
.page-header .wrap { display: flex; flex-wrap: wrap; align-items: flex-end; justify-content: space-between;
  gap: 12px 32px; padding-top: 18px; padding-bottom: 14px; }
h1 { font-size: 1.45rem; margin: 0 0 2px; }
.skill-id { margin: 0; color: var(--muted); font-size: .9rem; }
.skill-id code { font-size: .88rem; color: var(--ink); background: var(--page); padding: 1px 6px;
  border-radius: 4px; }
.facts { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 0; }
.facts div { min-width: 0; }
.facts dt { font-size: .72rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; font-size: .92rem; }
nav.tabs { background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0;
  z-index: 5; }
[role="tablist"] { display: flex; flex-wrap: wrap; gap: 0 2px; }
[role="tab"] { appearance: none; border: 0; background: none; font: inherit; font-weight: 600;
  white-space: nowrap; color: var(--muted); padding: 12px 8px 10px; border-bottom: 3px solid transparent;
  cursor: pointer; }
[role="tab"]:hover { color: var(--ink); background: var(--page); }
[role="tab"][aria-selected="true"] { color: var(--accent); border-bottom-color: var(--accent); }
:focus-visible { outline: 3px solid #4dabf7; outline-offset: 2px; }
main.wrap { padding-top: 18px; padding-bottom: 28px; }
.range { margin: 0 0 14px; color: var(--muted); font-size: .9rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px;
  margin-bottom: 18px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
.card h2 { font-size: .8rem; font-weight: 600; color: var(--muted); margin: 0; text-transform: uppercase;
  letter-spacing: .03em; }
.card .value { font-size: 1.7rem; font-weight: 700; margin: 2px 0; font-variant-numeric: tabular-nums; }
.card p { margin: 0; color: var(--muted); font-size: .84rem; }
.grid { display: grid; grid-template-columns: repeat(var(--columns, 2), minmax(0, 1fr)); gap: 16px; }
.block { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px;
  margin: 0; min-width: 0; }
.block.wide { grid-column: 1 / -1; }
.block h2 { font-size: 1.02rem; margin: 0 0 2px; }
.block .caption { margin: 0 0 6px; color: var(--muted); font-size: .86rem; }
.chart { width: 100%; min-height: 220px; }
details { margin-top: 6px; font-size: .88rem; }
summary { cursor: pointer; color: var(--accent); }
.scroll { max-height: 340px; overflow: auto; margin-top: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; font-variant-numeric: tabular-nums; }
/* pre, not nowrap: a cell breaks only where its text has a line break (a retention cell's count and
   share), so twelve weeks of cohorts fit a card. */
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: pre; }
/* A values table fits its card: headings and row labels (times, intents) wrap between words, a
   number never does. */
thead th, tbody th { white-space: normal; }
td.num, th.num { padding-left: 6px; }
thead th { background: var(--page); font-weight: 600; position: sticky; top: 0; }
tbody th { font-weight: 600; }
td.num, th.num { text-align: right; }
.note p { margin: 4px 0 0; color: var(--muted); }
.empty { background: var(--warn-soft); border: 1px solid #f1c47b; border-radius: 8px; padding: 14px 18px;
  margin: 18px 0; color: #5c3d00; }
.empty h2 { margin: 0 0 4px; font-size: 1.1rem; }
.empty p { margin: 0; }
footer.wrap { color: var(--muted); font-size: .82rem; padding-bottom: 28px; }
@media (max-width: 900px) { .grid { grid-template-columns: minmax(0, 1fr); } }
"""

JS = """
(function () {
  "use strict";
  var figures = JSON.parse(document.getElementById("dashboard-figures").textContent);
  var config = {
    displaylogo: false,
    responsive: true,
    // A short toolbar (zoom, reset, download) stood on end in the chart's right margin (charts.py).
    modeBarButtonsToRemove: ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines", "pan2d", "zoomIn2d",
                             "zoomOut2d", "hoverClosestCartesian", "hoverCompareCartesian"],
    toImageButtonOptions: {format: "png", scale: 2}
  };
  var tabs = Array.prototype.slice.call(document.querySelectorAll('[role="tab"]'));

  function panelOf(tab) { return document.getElementById(tab.getAttribute("aria-controls")); }

  function draw(panel) {
    if (!window.Plotly) { return; }
    Array.prototype.forEach.call(panel.querySelectorAll(".chart[data-figure]"), function (div) {
      if (div.hasAttribute("data-drawn")) { window.Plotly.Plots.resize(div); return; }
      var figure = figures[div.getAttribute("data-figure")];
      div.setAttribute("data-drawn", "pending");
      window.Plotly.newPlot(div, figure.data, figure.layout, config).then(function () {
        div.setAttribute("data-drawn", "true");
      });
    });
  }

  function select(tab, focus) {
    tabs.forEach(function (other) {
      var selected = other === tab;
      other.setAttribute("aria-selected", selected ? "true" : "false");
      other.tabIndex = selected ? 0 : -1;
      panelOf(other).hidden = !selected;
    });
    if (focus) { tab.focus(); }
    draw(panelOf(tab));
    try {
      history.replaceState(null, "", "#" + tab.getAttribute("data-view"));
    } catch (ignored) { /* some browsers refuse history changes on file: pages; the tab still works */ }
  }

  tabs.forEach(function (tab, index) {
    tab.addEventListener("click", function () { select(tab, false); });
    tab.addEventListener("keydown", function (event) {
      var moves = {ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1};
      if (!(event.key in moves)) { return; }
      event.preventDefault();
      select(tabs[(moves[event.key] + tabs.length) % tabs.length], true);
    });
  });

  var wanted = window.location.hash.slice(1);
  var first = tabs.filter(function (tab) { return tab.getAttribute("data-view") === wanted; })[0] || tabs[0];
  select(first, false);
  document.documentElement.setAttribute("data-ready", "true");
})();
"""
