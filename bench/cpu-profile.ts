import path from 'node:path';
import { ROOT } from './lib.js';

// Reads a V8 CPU profile (node --cpu-prof) into what a reader needs: the share of samples each
// function spent itself ("self"), and the same grouped by where the code lives (Baton's own
// source, each dependency, Node's internals, the garbage collector, idle).

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Row {
  name: string;
  ms: number;
}

/** Where a frame's code lives: a dependency by package, Baton's own by file, or Node. */
function placeOf(url: string): string {
  if (url === '') return 'V8 / native';
  if (url.startsWith('node:')) return 'node';
  const file = url.replace(/^file:\/\//, '');
  const nm = file.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] as string);
  }
  return path.relative(ROOT, file);
}

/**
 * The profile's self time by function and by place; only the samples taken within `window` (ms
 * since the process started, as near as the caller knows it) when one is given.
 */
export function summarizeCpuProfile(
  profile: CpuProfile,
  window?: { fromMs: number; toMs: number },
) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  let totalUs = 0;
  let at = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    at += dt;
    if (window && (at < window.fromMs * 1000 || at > window.toMs * 1000)) return;
    totalUs += dt;
    self.set(id, (self.get(id) ?? 0) + dt);
  });
  const fns = new Map<string, number>();
  const places = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of self) {
    const f = (byId.get(id) as ProfileNode).callFrame;
    if (f.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const where = placeOf(f.url);
    const special = f.functionName.startsWith('(');
    const key = special
      ? f.functionName
      : `${f.functionName || '(anonymous)'}  ${where}:${f.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
    const place = special
      ? f.functionName
      : where.startsWith('dist/')
        ? `baton ${where.slice(5)}`
        : where;
    places.set(place, (places.get(place) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): Row[] =>
    [...m].map(([name, us]) => ({ name, ms: us / 1000 })).sort((a, b) => b.ms - a.ms);
  const busyMs = (totalUs - idleUs) / 1000;
  return {
    totalMs: totalUs / 1000,
    busyMs,
    functions: rows(fns),
    places: rows(places),
    format(top: number): string {
      const pct = (ms: number) => `${((ms / busyMs) * 100).toFixed(1).padStart(5)}%`;
      return [
        `  sampled ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyMs / 1000).toFixed(1)} s; shares of busy time:`,
        '  by place:',
        ...rows(places)
          .slice(0, 12)
          .map((r) => `    ${pct(r.ms)}  ${r.name}`),
        `  top ${top} functions (self time):`,
        ...rows(fns)
          .slice(0, top)
          .map((r) => `    ${pct(r.ms)}  ${r.name}`),
      ].join('\n');
    },
  };
}
