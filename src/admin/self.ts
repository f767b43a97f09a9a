import { ensureSelf, selfCtx } from '../access/self.js';
import type { Ctx } from '../ctx.js';
import { AppError } from '../errors.js';
import type { OwnedProject } from '../db/admin.js';
import { touchParticipation } from '../db/identity.js';
import { callTool } from '../tools/dispatch.js';
import type { ToolDef } from '../tools/types.js';
import type { OwnerCall } from './types.js';

// The owner acting from the pages: as their self (src/access/self.ts), through the one tool
// dispatcher, so a post, a read, an ack or a lane from the browser is the very act an MCP client
// makes, with the same validation, the same transaction and the same ledger event.

const LIVENESS_DEBOUNCE_MS = 10_000;

/** The owner's self in the project (granted on first use), refreshed as present. */
export async function selfIn(c: OwnerCall, project: OwnedProject): Promise<Ctx> {
  const self = await ensureSelf(
    c.deps.db,
    { ownerId: c.session.ownerId, handle: c.session.handle },
    project.id,
  );
  const seen = self.last_seen_at?.getTime() ?? 0;
  if (Date.now() - seen > LIVENESS_DEBOUNCE_MS) {
    await touchParticipation(c.deps.db, project.id, self.participation_id, null);
  }
  return selfCtx(self, project.id, c.requestId);
}

/** Runs a tool as the owner's self; its refusal is thrown as the AppError it is. */
export async function act(
  c: OwnerCall,
  ctx: Ctx,
  tool: ToolDef,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const outcome = await callTool(c.deps, ctx, tool, args);
  if (outcome.ok) return outcome.result;
  // A form that names something missing (a participant, a post) is a bad form, not a missing
  // page: it is shown again with the reason rather than answered with the 404 page.
  if (outcome.error.code === 'not_found') {
    throw new AppError('invalid_argument', outcome.error.message, outcome.error.details);
  }
  throw outcome.error;
}
