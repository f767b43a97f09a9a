// Protocol constants shared by the server's MCP edge and the stdio bridge. A leaf: it imports
// nothing of Baton's, so the bridge can use it without loading the server.

/** JSON-RPC error codes Baton sends or relays, in one table. */
export const RPC_ERROR = {
  /** The body is not JSON. */
  parseError: -32700,
  /** Not a valid JSON-RPC message, or a bad header, session id or Last-Event-ID. */
  invalidRequest: -32600,
  methodNotFound: -32601,
  /** Unknown tool or resource, or arguments (or `_meta`) the method cannot take. */
  invalidParams: -32602,
  internalError: -32603,
  /** Rate limited, or a stream the server cannot open now. */
  serverError: -32000,
  /** The session ended, never existed, or belongs to another identity. */
  sessionNotFound: -32001,
  /** 2026-07-28: a required MCP header is missing, malformed or disagrees with the body. */
  headerMismatch: -32020,
  /** 2026-07-28: the requested protocol version is not served here; `data.supported` lists them. */
  unsupportedProtocolVersion: -32022,
} as const;

/** Claude Code's channel notification: how a push reaches the model (spec §10). */
export const CHANNEL_METHOD = 'notifications/claude/channel';

/** A channel notification's params: a short text for the model, and string-valued meta. */
export interface ChannelParams {
  content: string;
  meta: Record<string, string>;
}

/** How much of a post's text a channel event carries; read_posts(thread: post_id) shows it all. */
export const CHANNEL_CONTENT_CHARS = 280;

/**
 * A post's channel event, built the same way by every edge that makes one: `excerpt` is the start
 * of the body (at least CHANNEL_CONTENT_CHARS + 1 characters of it, when it has them), and
 * `longer` says the body goes on beyond CHANNEL_CONTENT_CHARS.
 */
export function postChannel(p: {
  post_id: string;
  from: string;
  to: { lane: string } | 'everyone' | 'you';
  subject?: string | null;
  excerpt: string;
  longer: boolean;
  ref?: string | null;
  tag?: string | null;
  /** The post's action flag (`review`), said in the text and in meta. */
  action?: string | null;
  /** The post's JSON data, as its JSON text (meta values are strings). */
  data?: string | null;
}): ChannelParams {
  const to = typeof p.to === 'string' ? p.to : `lane ${p.to.lane}`;
  const action = p.action ? ` (action: ${p.action})` : '';
  const flat = p.excerpt.replace(/\s+/g, ' ').trim();
  const body =
    flat.length > CHANNEL_CONTENT_CHARS || p.longer
      ? `${flat.slice(0, CHANNEL_CONTENT_CHARS)}…`
      : flat;
  const subject = typeof p.subject === 'string' ? `${p.subject} — ` : '';
  return {
    content: `${p.from} to ${to}${action}: ${subject}${body}`,
    meta: channelMeta({
      kind: 'post',
      post_id: p.post_id,
      from: p.from,
      ref: p.ref,
      tag: p.tag,
      action: p.action,
      data: p.data,
    }),
  };
}

/** An expired lease of yours that another participant took over. */
export function leaseLostChannel(l: {
  lease_id: string;
  surface: string;
  taken_over_by: string;
}): ChannelParams {
  return {
    content: `Your lease on ${l.surface} expired and was taken over by ${l.taken_over_by}; lease it again before you edit it.`,
    meta: channelMeta({
      kind: 'lease_lost',
      lease_id: l.lease_id,
      surface: l.surface,
      from: l.taken_over_by,
    }),
  };
}

/** A task someone else gave you (assigned, or created with you as its owner). */
export function taskAssignedChannel(t: {
  task_id: string;
  from: string;
  title: string | null;
  ref?: string | null;
}): ChannelParams {
  const title = t.title === null ? '' : `: ${t.title}`;
  return {
    content: `${t.from} assigned you task ${t.task_id}${title}. See it with task_get; start it with task_start.`,
    meta: channelMeta({ kind: 'task_assigned', task_id: t.task_id, from: t.from, ref: t.ref }),
  };
}

/** Channel meta values are strings; absent ones are left out. */
function channelMeta(fields: Record<string, string | null | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== null && v !== undefined) out[k] = v;
  return out;
}

// The two eras of MCP over Streamable HTTP. The 2025 revisions open a session with `initialize`;
// the modern revision (2026-07-28) is stateless: every request carries its version and the
// client's capabilities in `_meta`, and the transport mirrors the method and name in headers.

/** The modern (stateless) revisions Baton serves, newest first. */
export const MODERN_PROTOCOL_VERSIONS = ['2026-07-28'] as const;
/** The session-based revisions Baton serves, newest first (what `initialize` accepts). */
export const LEGACY_PROTOCOL_VERSIONS = [
  '2025-11-25',
  '2025-06-18',
  '2025-03-26',
  '2024-11-05',
  '2024-10-07',
] as const;
/** Every version, as `server/discover` and an UnsupportedProtocolVersion error list them. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly string[] = [
  ...MODERN_PROTOCOL_VERSIONS,
  ...LEGACY_PROTOCOL_VERSIONS,
];
/** What a 2025-era request without an MCP-Protocol-Version header is taken to speak. */
export const DEFAULT_LEGACY_VERSION = '2025-03-26';
/** From this revision on, JSON-RPC batches are gone from the protocol. */
export const FIRST_VERSION_WITHOUT_BATCHES = '2025-06-18';

/** Revisions are ISO dates, so string order is date order. */
export const isModernVersion = (v: string) => v >= (MODERN_PROTOCOL_VERSIONS.at(-1) as string);

/** HTTP headers of the transport, lower-case as Node presents them. */
export const HEADER = {
  protocolVersion: 'mcp-protocol-version',
  method: 'mcp-method',
  name: 'mcp-name',
  sessionId: 'mcp-session-id',
  lastEventId: 'last-event-id',
} as const;

/** Reserved `_meta` keys of the modern revision. */
export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** Methods of the modern revision that Baton serves or sends. */
/** Which param of the body an Mcp-Name header mirrors, per method (2026-07-28). */
export const MCP_NAME_PARAM: Readonly<Record<string, string>> = {
  'tools/call': 'name',
  'resources/read': 'uri',
  'prompts/get': 'name',
};

export const MODERN_METHOD = {
  discover: 'server/discover',
  listen: 'subscriptions/listen',
  acknowledged: 'notifications/subscriptions/acknowledged',
  resourceUpdated: 'notifications/resources/updated',
} as const;

/**
 * What a modern client subscribes to for push: each resource is one of the caller's views, and a
 * `notifications/resources/updated` for it means "something new is there; read it".
 */
export const RESOURCE_URI = {
  /** Posts to me not yet acknowledged (read_posts to_me, unacked_only); reading delivers them. */
  inbox: 'baton://inbox',
  /** My live leases; updated when one is taken over after it expired. */
  leases: 'baton://leases',
  /** Tasks I own; updated when one is assigned to me. */
  tasks: 'baton://tasks',
} as const;

const BASE64_PREFIX = '=?base64?';
const BASE64_SUFFIX = '?=';

/**
 * An `Mcp-Name` (or `Mcp-Param-*`) header value as the spec writes it: plain when the value is
 * printable ASCII without surrounding spaces, else `=?base64?<utf-8 as base64>?=`. For clients
 * (the stdio bridge) that send modern requests.
 * @public
 */
export function encodeHeaderValue(value: string): string {
  const plain =
    value.length > 0 &&
    value === value.trim() &&
    /^[\t\x20-\x7e]*$/.test(value) &&
    !(value.startsWith(BASE64_PREFIX) && value.endsWith(BASE64_SUFFIX));
  return plain
    ? value
    : `${BASE64_PREFIX}${Buffer.from(value, 'utf8').toString('base64')}${BASE64_SUFFIX}`;
}

/** The value a header carries, or undefined when its base64 form is malformed. */
export function decodeHeaderValue(header: string): string | undefined {
  if (!(header.startsWith(BASE64_PREFIX) && header.endsWith(BASE64_SUFFIX))) return header;
  const b64 = header.slice(BASE64_PREFIX.length, header.length - BASE64_SUFFIX.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) return undefined;
  const bytes = Buffer.from(b64, 'base64');
  const text = bytes.toString('utf8');
  // Refuse bytes that are not UTF-8 rather than compare a replacement character.
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}
