import { claim, latest_claims, list_sequences, seed_sequence, who_claimed } from './claims.js';
import { list_participants, whoami } from './identity.js';
import { check_paths, lease, release, who_holds } from './leases.js';
import type { ToolDef } from './types.js';

// The one list of tools. A new tool is defined in tools/<area>.ts and added here.
export const TOOLS: readonly ToolDef[] = [
  whoami,
  list_participants,
  claim,
  seed_sequence,
  latest_claims,
  list_sequences,
  who_claimed,
  lease,
  release,
  who_holds,
  check_paths,
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
