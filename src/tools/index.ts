import {
  admin_provision,
  admin_revoke,
  admin_rotate,
  create_invite,
  revoke_invite,
} from './admin.js';
import { claim, latest_claims, list_sequences, seed_sequence, who_claimed } from './claims.js';
import { list_participants, set_signing_key, whoami } from './identity.js';
import { check_paths, lease, release, who_holds } from './leases.js';
import { task_block, task_resolve } from './task-blockers.js';
import { list_tasks, task_get } from './task-views.js';
import {
  task_assign,
  task_cancel,
  task_claim_next,
  task_create,
  task_reopen,
  task_ship,
  task_start,
} from './tasks.js';
import { post } from './handoffs.js';
import { ack, read_posts } from './inbox.js';
import { query_events, whats_new } from './ledger.js';
import { register, set_liveness_window, who_is_active } from './presence.js';
import { search } from './search.js';
import { status } from './status.js';
import type { ToolDef } from './types.js';

// The one list of tools. A new tool is defined in tools/<area>.ts and added here.
export const TOOLS: readonly ToolDef[] = [
  whoami,
  list_participants,
  set_signing_key,
  register,
  who_is_active,
  set_liveness_window,
  post,
  read_posts,
  ack,
  whats_new,
  query_events,
  claim,
  seed_sequence,
  latest_claims,
  list_sequences,
  who_claimed,
  lease,
  release,
  who_holds,
  check_paths,
  task_create,
  task_assign,
  task_start,
  task_block,
  task_resolve,
  task_ship,
  task_cancel,
  task_reopen,
  task_claim_next,
  list_tasks,
  task_get,
  search,
  status,
  admin_provision,
  admin_rotate,
  admin_revoke,
  create_invite,
  revoke_invite,
];
