import { seedToken } from '../src/access/seed.js';
import type { Db } from '../src/db/pool.js';
import { callTool, now, openSession, summarize, type McpSession, type RawClient } from './lib.js';

// The mixed load: 200 sessions doing what agents do — post handoffs, claim numbers, lease and
// release files, read what's new, and move tasks through their states — for a while. Every call
// must succeed; a refusal the protocol expects (a lease held by another) counts as success.

const LANES = ['api', 'docs', 'ops', 'web'];

export async function mixedLoad(db: Db, raw: RawClient, seconds: number) {
  const sessions: { s: McpSession; actor: string; i: number }[] = [];
  for (let i = 0; i < 200; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, 200 - i) }, async (_, k) => {
        const seeded = await seedToken(db, {
          email: 'bench@example.test',
          projectSlug: 'mixed',
          label: `agent-${i + k}`,
        });
        return { s: await openSession(raw, seeded.token), actor: seeded.actor, i: i + k };
      }),
    );
    sessions.push(...batch);
  }
  for (const a of sessions)
    await callTool(raw, a.s, 'register', {
      lane: LANES[a.i % LANES.length] as string,
      status: 'benchmarking',
    });

  const latencies: number[] = [];
  const errors: string[] = [];
  const byOp: Record<string, number> = {};
  const end = now() + seconds * 1000;
  const timed = async (op: string, s: McpSession, name: string, args: Record<string, unknown>) => {
    const t = now();
    try {
      const r = await callTool(raw, s, name, args);
      latencies.push(now() - t);
      byOp[op] = (byOp[op] ?? 0) + 1;
      return r;
    } catch (err) {
      const msg = (err as Error).message;
      // Another agent holding the file is the protocol working, not a failure.
      if (name === 'lease' && msg.includes('lease_held')) {
        latencies.push(now() - t);
        byOp[op] = (byOp[op] ?? 0) + 1;
        return undefined;
      }
      errors.push(msg.slice(0, 300));
      return undefined;
    }
  };

  await Promise.all(
    sessions.map(async (a, n) => {
      let step = n;
      while (now() < end) {
        const peer = sessions[(a.i * 7 + step) % sessions.length] as { actor: string };
        switch (step++ % 6) {
          case 0:
            await timed('post', a.s, 'post', {
              to_actor: peer.actor,
              body: `handoff ${step} from ${a.actor}`,
              ref: `PR #${step}`,
            });
            break;
          case 1:
            await timed('claim', a.s, 'claim', { sequence: step % 2 ? 'adr' : 'migration' });
            break;
          case 2: {
            const surface = `src/area-${a.i % 40}/file-${step % 5}.ts`;
            const got = await timed('lease', a.s, 'lease', { surface, ttl_seconds: 30 });
            if (got) await timed('release', a.s, 'release', { surface });
            break;
          }
          case 3:
            await timed('whats_new', a.s, 'whats_new', { limit: 20 });
            break;
          case 4: {
            const t = await timed('task', a.s, 'task_create', {
              title: `work item ${step}`,
              lane: LANES[step % LANES.length],
            });
            if (t) {
              const next = await timed('task', a.s, 'task_claim_next', {});
              const task = next?.task as { task_id: number } | null | undefined;
              if (task)
                await timed('task', a.s, 'task_ship', {
                  task_id: task.task_id,
                  ref: `commit ${step}`,
                });
            }
            break;
          }
          default: {
            const inbox = await timed('read_posts', a.s, 'read_posts', {
              to_me: true,
              unacked_only: true,
              limit: 5,
            });
            const ids = ((inbox?.posts as { post_id: number }[] | undefined) ?? []).map(
              (p) => p.post_id,
            );
            if (ids.length) await timed('ack', a.s, 'ack', { post_ids: ids });
          }
        }
      }
    }),
  );
  const s = summarize(latencies);
  return {
    sessions: sessions.length,
    calls: latencies.length + errors.length,
    errors: errors.length,
    p50: s.p50,
    p99: s.p99,
    byOp,
    firstErrors: errors.slice(0, 5),
  };
}
