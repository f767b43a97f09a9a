import { raw } from './html.js';

// The admin's one style sheet, inlined under the page's CSP nonce (no build step, no request).

export const STYLES = raw(`
:root { --fg: #1d2430; --muted: #5f6b7a; --line: #dde2e8; --bg: #f6f7f9; --card: #fff;
  --accent: #2457c5; --danger: #b42318; --ok: #18794e; --warn: #a15c00;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.5rem;
  background: #1d2430; color: #fff; }
header.top a { color: #fff; }
header.top .brand { font-weight: 700; letter-spacing: .02em; }
header.top nav { display: flex; gap: 1rem; flex: 1; }
header.top .who { display: flex; align-items: center; gap: .75rem; color: #c9d1dc; }
header.top .who button { background: transparent; color: #fff; border-color: #55606f; }
main { max-width: 1080px; margin: 1.5rem auto; padding: 0 1.5rem; }
main.wide { max-width: none; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; }
h3 { font-size: .95rem; margin: 1rem 0 .5rem; }
.sub { color: var(--muted); margin: 0 0 1.25rem; }
.sub a, .sub strong { margin-right: 1rem; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
  padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
table { width: 100%; border-collapse: collapse; font-size: .92rem; }
th, td { text-align: left; padding: .45rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; color: var(--muted); font-size: .8rem; text-transform: uppercase;
  letter-spacing: .03em; }
td.actions { white-space: nowrap; }
td.actions form { display: inline; }
.empty { color: var(--muted); font-style: italic; }
form.stack { display: grid; gap: .6rem; max-width: 34rem; }
form.row { display: flex; flex-wrap: wrap; gap: .6rem; align-items: end; }
label { display: grid; gap: .2rem; font-size: .85rem; color: var(--muted); }
label.check { display: flex; align-items: center; gap: .4rem; color: var(--fg); }
input, select { font: inherit; padding: .35rem .5rem; border: 1px solid #b9c2cd;
  border-radius: 5px; background: #fff; color: var(--fg); }
button, .button { font: inherit; font-size: .88rem; padding: .35rem .8rem; border-radius: 5px;
  border: 1px solid #b9c2cd; background: #fff; color: var(--fg); cursor: pointer;
  display: inline-block; }
button.primary, .button.primary { background: var(--accent); border-color: var(--accent);
  color: #fff; }
button.danger { color: var(--danger); border-color: #e4b4ae; }
button:disabled { opacity: .45; cursor: default; }
.flash { padding: .6rem 1rem; border-radius: 6px; margin-bottom: 1rem; overflow-wrap: anywhere; }
.flash.error { background: #fdecea; border: 1px solid #f1b5ae; color: #7a1b12; }
.flash.notice { background: #e8f5ee; border: 1px solid #a9d8bf; color: #0f5132; }
.badge { display: inline-block; font-size: .75rem; padding: .05rem .45rem; border-radius: 999px;
  background: #e8ebef; color: var(--muted); white-space: nowrap; }
.badge.admin { background: #e5edff; color: #1e3f8f; }
.badge.on { background: #e1f4e9; color: var(--ok); }
.badge.warn { background: #fff1dc; color: var(--warn); }
.badge.off { background: #f0f1f3; color: #8a94a3; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .85rem; }
pre { background: #f1f3f6; border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem;
  overflow-x: auto; white-space: pre-wrap; overflow-wrap: anywhere; margin: .3rem 0 .8rem; }
.secret { font-size: 1rem; background: #fff8e1; border-color: #f0d48a; }
.dot { display: inline-block; width: .6rem; height: .6rem; border-radius: 50%; background: #c3cad3;
  margin-right: .35rem; }
.dot.on { background: #22a06b; }
.muted { color: var(--muted); }
.danger-zone { border-color: #f1b5ae; }
.board { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 1.25rem; }
.board .wide { grid-column: 1 / -1; }
@media (max-width: 900px) { .board { grid-template-columns: minmax(0, 1fr); } }
.live { font-size: .85rem; }
.counts { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: .75rem; }
.graph { overflow-x: auto; }
.graph svg { display: block; }
.graph .node rect { fill: #fff; stroke: #9aa5b4; stroke-width: 1.2; }
.graph .node text { font-size: 12px; fill: var(--fg); }
.graph .node .meta { font-size: 10.5px; fill: var(--muted); }
.graph .node.open rect { stroke: #9aa5b4; }
.graph .node.ready rect { stroke: var(--ok); stroke-width: 2; }
.graph .node.assigned rect { stroke: #3d6fd9; }
.graph .node.in_progress rect { fill: #fff7e6; stroke: #d48a00; stroke-width: 2; }
.graph .node.blocked rect { fill: #fdecea; stroke: var(--danger); stroke-width: 2; }
.graph .node.done rect { fill: #eef7f1; stroke: #7fbf9c; }
.graph .node.cancelled rect { fill: #f3f4f6; stroke: #c3cad3; stroke-dasharray: 4 3; }
.graph .node.done text, .graph .node.cancelled text { fill: #6b7684; }
.graph .edge { fill: none; stroke: #7b8797; stroke-width: 1.4; }
.graph .edge.blocks { stroke: var(--danger); stroke-dasharray: 5 4; }
.graph .arrow { fill: #7b8797; }
.graph .arrow.blocks { fill: var(--danger); }
.legend { display: flex; flex-wrap: wrap; gap: .4rem .9rem; font-size: .8rem; color: var(--muted);
  margin-top: .5rem; }
ol.events { list-style: none; padding: 0; margin: 0; font-size: .88rem; }
ol.events li { padding: .35rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
ol.events .seq { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: .4rem; }
.board-lists { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 1rem; }
.board-lists ul { margin: 0; padding-left: 1.1rem; }
ul.presence { list-style: none; padding: 0; margin: 0; }
ul.presence li { padding: .25rem 0; }
.post { border-left: 3px solid #c3cad3; padding: .2rem .6rem; margin-bottom: .6rem; }
.post .excerpt { white-space: pre-wrap; overflow-wrap: anywhere; }
ol.hits { list-style: none; padding: 0; margin: .75rem 0 0; }
ol.hits li { padding: .45rem 0; border-bottom: 1px solid var(--line); overflow-wrap: anywhere; }
ol.hits .snippet { color: var(--muted); font-size: .9rem; }
ol.hits mark { background: #fff1b8; color: var(--fg); padding: 0 .1rem; border-radius: 2px; }
nav.sub { display: flex; flex-wrap: wrap; align-items: baseline; gap: .25rem 1rem; }
nav.sub a, nav.sub strong { margin-right: 0; }
.badge.unread { background: var(--accent); color: #fff; margin-left: .3rem; }
.inbox-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 1.25rem;
  align-items: start; }
ol.msgs { list-style: none; padding: 0; margin: 0; }
li.msg { border-left: 3px solid #c3cad3; padding: .45rem .7rem; margin-bottom: .7rem;
  background: #fafbfc; border-radius: 0 6px 6px 0; }
li.msg.unacked { border-left-color: var(--accent); background: #f1f5ff; }
.msg-head { overflow-wrap: anywhere; }
.msg-subject { font-weight: 600; margin-top: .15rem; overflow-wrap: anywhere; }
.msg-body { white-space: pre-wrap; overflow-wrap: anywhere; margin: .2rem 0; }
pre.msg-data { margin: .3rem 0; max-height: 12rem; }
.msg-meta, .msg-actions { display: flex; flex-wrap: wrap; gap: .3rem .8rem; align-items: center;
  font-size: .85rem; }
.msg-meta:empty { display: none; }
.msg-meta > * { min-width: 0; overflow-wrap: anywhere; }
.msg-meta code { word-break: break-all; }
.msg-actions { margin-top: .3rem; }
.badge.action { background: #fff1dc; color: var(--warn); font-weight: 600; }
ul.receipts { list-style: none; padding: 0; margin: .3rem 0; display: flex; flex-wrap: wrap;
  gap: .25rem .8rem; font-size: .85rem; overflow-wrap: anywhere; }
form.inline { display: inline; }
.row-between { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center;
  gap: .5rem; }
.row-between p { margin: 0; }
textarea { font: inherit; padding: .35rem .5rem; border: 1px solid #b9c2cd; border-radius: 5px;
  width: 100%; resize: vertical; }
form.stack input, form.stack select { max-width: 100%; }
@media (max-width: 900px) { .inbox-grid { grid-template-columns: minmax(0, 1fr); } }
@media (max-width: 600px) {
  header.top { flex-wrap: wrap; gap: .4rem 1rem; padding: .5rem .8rem; }
  main { margin: 1rem auto; padding: 0 .6rem; }
  section.card { padding: .8rem .7rem; }
  input, select { max-width: 100%; }
  .board-lists { grid-template-columns: minmax(0, 1fr); gap: 0; }
  /* A table's columns would be a few letters wide: each row becomes a block of its cells. */
  table, tbody, tr { display: block; }
  thead { display: none; }
  tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  td { display: inline-block; max-width: 100%; border: none; padding: .1rem .6rem .1rem 0; }
  td.actions { display: block; white-space: normal; }
  td pre { margin: .2rem 0; }
}
section.card { min-width: 0; overflow-x: auto; }
`);
