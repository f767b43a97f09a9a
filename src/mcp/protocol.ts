// Protocol constants shared by the server's MCP edge and the stdio bridge. A leaf: it imports
// nothing of Baton's, so the bridge can use it without loading the server.

/** JSON-RPC error codes Baton sends or relays, in one table. */
export const RPC_ERROR = {
  /** The body is not JSON. */
  parseError: -32700,
  /** Not a valid JSON-RPC message, or a bad header, session id or Last-Event-ID. */
  invalidRequest: -32600,
  methodNotFound: -32601,
  /** Unknown tool, or arguments the method cannot take. */
  invalidParams: -32602,
  internalError: -32603,
  /** Rate limited, or a stream the server cannot open now. */
  serverError: -32000,
  /** The session ended, never existed, or belongs to another identity. */
  sessionNotFound: -32001,
} as const;

/** Claude Code's channel notification: how a push reaches the model (spec §10). */
export const CHANNEL_METHOD = 'notifications/claude/channel';
