import { ack, post, read_posts } from './handoffs.js';
import { list_participants, whoami } from './identity.js';
import { query_events, whats_new } from './ledger.js';
import { register, set_liveness_window, who_is_active } from './presence.js';
import type { ToolDef } from './types.js';

// The one list of tools. A new tool is defined in tools/<area>.ts and added here.
export const TOOLS: readonly ToolDef[] = [
  whoami,
  list_participants,
  register,
  who_is_active,
  set_liveness_window,
  post,
  read_posts,
  ack,
  whats_new,
  query_events,
];

// The core profile (`/mcp?tools=core`, spec §7): what an agent needs every day. Names that do not
// exist yet are simply absent from the profile until their tool lands.
export const CORE_TOOL_NAMES: ReadonlySet<string> = new Set([
  'whoami',
  'register',
  'who_is_active',
  'post',
  'read_posts',
  'ack',
  'whats_new',
  'claim',
  'lease',
  'release',
  'who_holds',
  'task_claim_next',
  'task_ship',
  'status',
]);
