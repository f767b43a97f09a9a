import { z } from 'zod';
import { listParticipants } from '../db/identity.js';
import { defineTool } from './types.js';

export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description: 'Your identity here: actor (handle/label), kind, project, lane, admin.',
  input: z.strictObject({}),
  annotations: { readOnlyHint: true },
  handler: async ({ ctx }) => ({
    actor: ctx.actor,
    handle: ctx.handle,
    label: ctx.label,
    kind: ctx.kind,
    project: ctx.projectSlug,
    lane: ctx.lane,
    is_admin: ctx.isAdmin,
  }),
});

export const list_participants = defineTool({
  name: 'list_participants',
  title: 'List participants',
  description: 'The roster: actor, kind, lane, admin, active, last_seen, signing key.',
  input: z.strictObject({}),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }) => {
    const rows = await listParticipants(trx, ctx.projectId);
    return {
      participants: rows.map((r) => ({
        actor: `${r.handle}/${r.label}`,
        kind: r.kind,
        lane: r.lane,
        is_admin: r.is_admin,
        active: r.active,
        last_seen: r.last_seen_at?.toISOString() ?? null,
      })),
    };
  },
});
