import type { GraphEdge, GraphTask } from '../db/board.js';
import { html, type SafeHtml } from './html.js';

// The task graph as inline SVG, laid out in layers: a task sits one column right of the latest
// task it waits for (a dependency, or an open blocker naming a task), and each column is ordered
// by where its tasks' prerequisites sit, which keeps most arrows short and uncrossed. Arrows
// point from what must finish first to what waits for it.

const W = 210;
const H = 48;
const COL_GAP = 64;
const ROW_GAP = 14;
const PAD = 8;
const TITLE_CHARS = 27;

const STATUS_LABEL: Record<string, string> = {
  open: 'open',
  assigned: 'assigned',
  in_progress: 'in progress',
  blocked: 'blocked',
  done: 'done',
  cancelled: 'cancelled',
};

function clip(text: string, max: number): string {
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

interface Placed {
  task: GraphTask;
  column: number;
  row: number;
}

function layout(tasks: GraphTask[], edges: GraphEdge[]): Map<string, Placed> {
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const preds = new Map<string, string[]>();
  for (const e of edges) {
    if (!byId.has(e.from) || !byId.has(e.to)) continue;
    preds.set(e.to, [...(preds.get(e.to) ?? []), e.from]);
  }
  const column = new Map<string, number>();
  const visiting = new Set<string>();
  const depth = (id: string): number => {
    const known = column.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 0; // the graph has no cycles; never loop if it ever did
    visiting.add(id);
    const d = Math.max(-1, ...(preds.get(id) ?? []).map(depth)) + 1;
    visiting.delete(id);
    column.set(id, d);
    return d;
  };
  const columns: string[][] = [];
  for (const t of tasks) (columns[depth(t.task_id)] ??= []).push(t.task_id);
  const placed = new Map<string, Placed>();
  columns.forEach((ids, col) => {
    const centre = (id: string) => {
      const rows = (preds.get(id) ?? []).map((p) => placed.get(p)?.row ?? 0);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : Infinity;
    };
    const ordered = [...ids].sort((a, b) => centre(a) - centre(b) || Number(a) - Number(b));
    ordered.forEach((id, row) =>
      placed.set(id, { task: byId.get(id) as GraphTask, column: col, row }),
    );
  });
  return placed;
}

export function taskGraph(tasks: GraphTask[], edges: GraphEdge[]): SafeHtml {
  if (tasks.length === 0) return html`<p class="empty">No tasks yet.</p>`;
  const placed = layout(tasks, edges);
  const x = (p: Placed) => PAD + p.column * (W + COL_GAP);
  const y = (p: Placed) => PAD + p.row * (H + ROW_GAP);
  let width = 0;
  let height = 0;
  for (const p of placed.values()) {
    width = Math.max(width, x(p) + W + PAD);
    height = Math.max(height, y(p) + H + PAD);
  }
  const arrows = edges.flatMap((e) => {
    const a = placed.get(e.from);
    const b = placed.get(e.to);
    if (!a || !b) return [];
    const x1 = x(a) + W;
    const y1 = y(a) + H / 2;
    const x2 = x(b) - 2;
    const y2 = y(b) + H / 2;
    const bend = Math.max(24, (x2 - x1) / 2);
    const d = `M${x1} ${y1} C${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`;
    return [
      html`<path
        class="edge ${e.kind}"
        data-from="${e.from}"
        data-to="${e.to}"
        d="${d}"
        marker-end="url(#arrow-${e.kind})"
        ><title>
          #${e.to} ${e.kind === 'depends' ? 'depends on' : 'is blocked by'} #${e.from}
        </title></path
      >`,
    ];
  });
  const nodes = [...placed.values()].map((p) => {
    const t = p.task;
    const ready = t.ready ? ' ready' : '';
    const state = t.ready ? 'ready' : STATUS_LABEL[t.status];
    const meta = [state, t.owner, t.lane ? `lane ${t.lane}` : null].filter(Boolean).join(' · ');
    return html`<g
      class="node ${t.status}${ready}"
      data-task="${t.task_id}"
      transform="translate(${x(p)} ${y(p)})"
      ><title>#${t.task_id} ${t.title} (${state})</title>
      <rect width="${W}" height="${H}" rx="6"></rect>
      <text x="9" y="19">#${t.task_id} ${clip(t.title, TITLE_CHARS)}</text>
      <text class="meta" x="9" y="37">${clip(meta, 34)}</text></g
    >`;
  });
  const marker = (kind: string) =>
    html`<marker
      id="arrow-${kind}"
      viewBox="0 0 10 10"
      refX="9"
      refY="5"
      markerWidth="7"
      markerHeight="7"
      orient="auto-start-reverse"
      ><path class="arrow ${kind}" d="M0 0 L10 5 L0 10 z"></path
    ></marker>`;
  return html`<div class="graph">
      <svg
        xmlns="http://www.w3.org/2000/svg"
        width="${width}"
        height="${height}"
        viewBox="0 0 ${width} ${height}"
        role="img"
        aria-label="Task graph"
      >
        <defs>${marker('depends')}${marker('blocks')}</defs>
        ${arrows}${nodes}
      </svg>
    </div>
    <div class="legend">
      <span>→ waits for the task on its left</span> <span>dashed red → blocked by</span
      ><span>green border: ready</span> <span>amber: in progress</span><span>red: blocked</span>
    </div>`;
}
