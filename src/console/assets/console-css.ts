// The console's stylesheet, served as /console/assets/console.css (no inline styles: the pages'
// Content-Security-Policy refuses them). Colours keep text at 4.5:1 or better on its background.

export const CONSOLE_CSS = `
:root { --fg: #111827; --muted: #4b5563; --bg: #f9fafb; --card: #fff; --line: #d1d5db; --accent: #1d4ed8;
  --warn: #b91c1c; --ok: #166534; --hl: #fde68a; --hl-line: #b45309; font-family: system-ui, -apple-system, "Segoe UI",
  Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
* { box-sizing: border-box; }
body { margin: 0; line-height: 1.45; }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, select:focus-visible, summary:focus-visible {
  outline: 3px solid #f59e0b; outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; background: #fff; padding: .5rem; z-index: 10; }
.skip:focus { left: .5rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
header { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.25rem; padding: .6rem 1rem;
  background: #111827; color: #f9fafb; }
header .brand { font-weight: 700; letter-spacing: .02em; }
header .brand span { font-weight: 400; color: #d1d5db; }
header .who { color: #d1d5db; font-size: .9rem; }
header nav { display: flex; flex-wrap: wrap; align-items: center; gap: .25rem .9rem; margin-left: auto; }
header nav a { color: #f9fafb; text-decoration: none; padding: .3rem .1rem; border-bottom: 2px solid transparent; }
header nav a[aria-current="page"] { border-bottom-color: #fbbf24; }
header nav form { display: inline; margin: 0; }
header nav button { background: transparent; color: #f9fafb; border: 1px solid #6b7280; }
main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
main:focus { outline: none; }
h1 { font-size: 1.5rem; margin: .25rem 0 1rem; word-break: break-all; }
h2 { font-size: 1.15rem; margin: 1.25rem 0 .5rem; }
h3 { font-size: 1rem; margin: .75rem 0 .4rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: .9rem 1rem;
  margin-bottom: 1rem; }
.narrow { max-width: 30rem; }
.grid { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr)); align-items: start; }
.grid .card { margin: 0; }
.grid .card h2 { margin-top: 0; }
label { display: block; font-weight: 600; margin-bottom: .25rem; }
input, select, button, .button { font: inherit; border-radius: 6px; }
input, select { border: 1px solid #6b7280; padding: .45rem .55rem; background: #fff; color: var(--fg);
  max-width: 100%; }
input[type="password"], input[type="search"] { width: 100%; }
button, .button { display: inline-block; border: 1px solid #374151; background: #fff; color: var(--fg);
  padding: .45rem .9rem; cursor: pointer; text-decoration: none; min-height: 2.4rem; }
button.primary, .button.primary { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { border-color: var(--warn); color: var(--warn); }
.hint, .muted { color: var(--muted); font-size: .9rem; }
.error { color: var(--warn); font-weight: 600; }
.ok { color: var(--ok); font-weight: 600; }
.notice { background: #ecfdf5; border: 1px solid #6ee7b7; padding: .5rem .75rem; border-radius: 8px; }
.empty { color: var(--muted); font-style: italic; }
.badge { display: inline-block; font-size: .8rem; padding: .05rem .45rem; border-radius: 999px; background: #e5e7eb;
  color: #111827; font-weight: 600; vertical-align: middle; }
.badge.warn { background: #fee2e2; color: #991b1b; }
.badge.ok { background: #dcfce7; color: #14532d; }
.search { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; }
.search .field:first-child { flex: 1 1 16rem; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; background: var(--card); }
th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-size: .85rem; color: var(--muted); font-weight: 600; }
td.state code { white-space: nowrap; }
tr.selected { background: #fffbeb; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .88rem; }
pre { background: #f3f4f6; padding: .6rem; border-radius: 6px; overflow: auto; margin: 0; max-height: 20rem;
  white-space: pre-wrap; overflow-wrap: anywhere; }
.chart-wrap, .timeline-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line);
  border-radius: 10px; padding: .5rem; }
svg.chart { max-width: 100%; height: auto; font-size: 13px; }
svg.chart .st > rect { fill: #fff; stroke: #9ca3af; stroke-width: 1; }
svg.chart .st.compound > rect { fill: #f3f4f6; }
svg.chart .st.final > rect { stroke: #374151; }
svg.chart .st > rect.inner { fill: none; }
svg.chart text { fill: #111827; }
svg.chart text.title { font-weight: 600; fill: #374151; }
svg.chart .st.on-path > rect { stroke: var(--hl-line); stroke-width: 2; }
svg.chart .st.active > rect { fill: var(--hl); stroke: var(--hl-line); stroke-width: 3; }
svg.chart .st.active > text { font-weight: 700; }
ul.next { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 34rem), 1fr));
  gap: 0 1.5rem; padding-left: 1.1rem; }
ul.next li { overflow-wrap: anywhere; }
svg.timeline { width: 100%; min-width: 600px; height: auto; font-size: 11px; }
svg.timeline .band text { fill: #111827; }
svg.timeline .tool rect { fill: #7c3aed; }
svg.timeline .tool.failed rect { fill: var(--warn); }
svg.timeline .tool text { fill: #4c1d95; }
svg.timeline .barge line { stroke: #dc2626; stroke-width: 2; }
svg.timeline .barge path { fill: #dc2626; }
svg.timeline .heard circle { fill: #16a34a; }
svg.timeline .end line { stroke: #111827; stroke-width: 2; }
svg.timeline .end text { fill: #111827; font-weight: 600; }
svg.timeline .other rect { fill: #6b7280; }
svg.timeline .transfer path { fill: #4338ca; }
svg.timeline .transfer text { fill: #312e81; }
svg.timeline .axis, svg.timeline .tick { stroke: #6b7280; }
svg.timeline text.tick { stroke: none; fill: #4b5563; }
ul.legend { list-style: none; display: flex; flex-wrap: wrap; gap: .4rem 1rem; padding: 0; font-size: .9rem; }
ul.legend li { display: flex; align-items: center; gap: .35rem; }
.swatch { flex: none; }
span.swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; }
span.swatch.tool { background: #7c3aed; }
span.swatch.barge { background: #dc2626; width: 4px; }
span.swatch.heard { background: #16a34a; border-radius: 50%; }
ol.transcript { list-style: none; padding: 0; }
.turn { background: var(--card); border: 1px solid var(--line); border-left-width: 4px; border-radius: 8px;
  padding: .5rem .75rem; margin-bottom: .5rem; }
.turn.caller { border-left-color: #2563eb; }
.turn.assistant { border-left-color: #16a34a; }
.turn.tool, .turn.system { border-left-color: #7c3aed; background: #faf5ff; }
.turn.interrupted { border-left-color: #dc2626; }
.turn .role { font-weight: 700; margin-right: .35rem; }
.turn .at, .tl-list .at { color: var(--muted); font-size: .85rem; font-variant-numeric: tabular-nums; }
.tool-call .io { display: grid; gap: .75rem; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); }
.tool-call h4 { margin: .25rem 0; font-size: .85rem; color: var(--muted); }
dl.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: .5rem 1rem;
  margin: 0 0 1rem; }
dl.facts dt { font-size: .8rem; color: var(--muted); }
dl.facts dd { margin: 0; font-weight: 600; word-break: break-word; }
ul.messages, ul.appointments, ul.merchant-list { list-style: none; padding: 0; margin: 0; }
.message { border-top: 1px solid var(--line); padding: .6rem 0; }
.message:first-child { border-top: 0; }
.message.unread .body { font-weight: 600; }
.message p { margin: .2rem 0; }
.message form { margin-top: .3rem; }
.appointments li { border-top: 1px solid var(--line); padding: .5rem 0; display: flex; flex-direction: column; }
.appointments li:first-child { border-top: 0; }
.merchant-list li { display: flex; flex-wrap: wrap; gap: .3rem 1rem; align-items: center; }
fieldset { border: 0; padding: 0; margin: 0 0 1rem; }
legend { font-weight: 600; margin-bottom: .4rem; }
label.choice { font-weight: 400; display: flex; gap: .5rem; align-items: center; padding: .3rem 0; }
@media (max-width: 640px) {
  header nav { margin-left: 0; width: 100%; }
  main { padding: .75rem; }
  th:nth-child(3), td:nth-child(3) { display: none; }
}
`;
