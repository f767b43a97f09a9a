import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import type { Ctx } from '../src/ctx.js';
import { EVENT_TYPES, HISTORICAL_EVENT_TYPES } from '../src/db/event-types.js';
import { appendEvent } from '../src/db/ledger.js';
import type { Trx } from '../src/db/pool.js';
import { PUSH_TYPES } from '../src/db/push.js';
import { lockedTask } from '../src/tools/task-transitions.js';
import { defineTool } from '../src/tools/types.js';
import { TOOLS } from '../src/tools/index.js';

// Closed vocabularies are closed by the type checker. Each @ts-expect-error below marks a
// misspelling that must not compile: were it accepted, the directive would be unused and
// `npm run typecheck` (run before every `npm test`) would fail. The function is never called.

export function misspellings(trx: Trx, ctx: Ctx) {
  // @ts-expect-error a ledger event type that does not exist
  void appendEvent(trx, ctx.projectId, { type: 'task_shiped', actor: ctx.actor, data: {} });
  void appendEvent(trx, ctx.projectId, {
    type: 'liveness_window_set',
    actor: ctx.actor,
    // @ts-expect-error a field the event's data does not have
    data: { seconds: 60, previous: 30, via: 'web', secondz: 1 },
  });
  // @ts-expect-error a task transition that does not exist
  void lockedTask(trx, ctx, 1, 'task_shipp');
  return defineTool({
    name: 'misspelt',
    title: 'Misspelt',
    description: 'never registered',
    input: z.strictObject({}),
    annotations: { readOnlyHint: true },
    // @ts-expect-error the core flag, misspelt
    coer: true,
    handler: async () => ({}),
  });
}

describe('closed vocabularies', () => {
  it('lists every event type once, and pushes only types of the vocabulary', () => {
    const all = [...EVENT_TYPES, ...HISTORICAL_EVENT_TYPES];
    expect(new Set(all).size).toBe(all.length);
    for (const t of PUSH_TYPES) expect(EVENT_TYPES).toContain(t);
  });

  it('marks the core profile on the tools themselves', () => {
    expect(TOOLS.filter((t) => t.core).map((t) => t.name)).toContain('whats_new');
    expect(TOOLS.find((t) => t.name === 'admin_rotate')?.core).toBeUndefined();
  });
});
