/** The report page's stylesheet, inlined so the page needs nothing but its media. */
export const REPORT_CSS = `
:root { --fg: #1d2127; --muted: #68717d; --line: #dfe3e8; --bg: #f6f7f9; --card: #fff; --ok: #2b8a3e; --bad: #c92a2a; --warn: #e67700; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1240px; padding: 24px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 0 0 8px; display: flex; flex-wrap: wrap; gap: 6px; align-items: center; }
section, header { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px; margin-bottom: 18px; }
.prompt { color: var(--muted); white-space: pre-wrap; margin: 0 0 10px; }
.muted { color: var(--muted); }
.error { color: var(--bad); display: block; }
.badge { display: inline-block; font-size: 12px; font-weight: 600; padding: 1px 8px; border-radius: 10px; background: #e9ecef; color: var(--fg); }
.badge.status-completed, .badge.status-succeeded { background: #d3f9d8; color: var(--ok); }
.badge.status-failed { background: #ffe3e3; color: var(--bad); }
.badge.status-running, .badge.status-processing, .badge.status-generating { background: #fff3bf; color: var(--warn); }
.badge.source-previous-frame { background: #d0ebff; color: #1864ab; }
.badge.source-library { background: #e5dbff; color: #5f3dc4; }
.badge.source-generated { background: #c3fae8; color: #087f5b; }
.stats { display: flex; flex-wrap: wrap; gap: 10px; margin: 0; }
.stats div { background: var(--bg); border-radius: 6px; padding: 6px 12px; min-width: 110px; }
.stats dt { font-size: 12px; color: var(--muted); }
.stats dd { margin: 0; font-size: 18px; font-weight: 600; }
.film { display: grid; grid-template-columns: 2fr 1fr; gap: 18px; }
.film video { width: 100%; max-height: 420px; background: #000; border-radius: 6px; }
.poster img { width: 100%; max-height: 420px; object-fit: contain; border-radius: 6px; background: #000; }
.chaos .verdict { font-size: 18px; font-weight: 700; margin: 0 0 8px; }
.verdict.ok { color: var(--ok); } .verdict.bad { color: var(--bad); }
.kills { margin: 0; padding-left: 22px; }
.kills time { display: inline-block; min-width: 64px; font-variant-numeric: tabular-nums; }
.scenes { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 14px; }
.scene { border: 1px solid var(--line); border-radius: 8px; padding: 12px; background: var(--card); }
.scene.status-failed { border-color: #ffa8a8; background: #fff5f5; }
.frames { display: flex; gap: 8px; }
.frames figure { margin: 0; flex: 1; min-width: 0; }
.frames img { width: 100%; aspect-ratio: 16 / 9; object-fit: cover; border-radius: 4px; background: #000; display: block; }
.frames figcaption { font-size: 11px; color: var(--muted); }
.frames a { flex: 1; min-width: 0; display: flex; }
.no-image { flex: 1; aspect-ratio: 16 / 9; display: grid; place-items: center; background: #e9ecef; border-radius: 4px; color: var(--muted); }
.lines { margin: 8px 0 0; padding-left: 18px; }
.shots { margin: 4px 0 0; padding-left: 22px; font-size: 0.9em; }
.lines li { margin-bottom: 6px; }
.lines audio { display: block; width: 100%; height: 28px; margin-top: 2px; }
.legend { display: flex; flex-wrap: wrap; gap: 12px; margin-bottom: 8px; font-size: 12px; }
.legend-item i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 4px; vertical-align: -2px; }
.legend-item i.queued-swatch { background: #adb5bd; opacity: 0.35; }
.legend-item i.kill-swatch { background: var(--bad); width: 3px; }
.gantt-scroll { overflow-x: auto; }
.gantt { font: 11px system-ui, sans-serif; display: block; min-width: 900px; height: auto; }
.gantt .grid { stroke: var(--line); stroke-width: 1; }
.gantt .tick { fill: var(--muted); }
.gantt .row-label { fill: var(--fg); }
.gantt .queued { opacity: 0.25; }
.gantt .run.status-failed, .gantt .run.status-cancelled { stroke: var(--bad); stroke-width: 1.5; opacity: 0.7; }
.gantt .task:hover .run { stroke: #000; stroke-width: 1; }
.gantt .kill line { stroke: var(--bad); stroke-width: 2; stroke-dasharray: 4 2; }
table.steps { border-collapse: collapse; width: 100%; }
.steps th, .steps td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
.steps td.num, .steps th:nth-child(n+4) { text-align: right; font-variant-numeric: tabular-nums; }
.steps tfoot td { font-weight: 600; border-bottom: none; }
footer { color: var(--muted); font-size: 12px; }
code { font: 12px ui-monospace, monospace; background: var(--bg); padding: 1px 4px; border-radius: 3px; }
`;
