import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendRaw } from '../http/request.js';
import {
  headerOf,
  isMessage,
  paramsOf,
  rpcError,
  unsupportedVersion,
  type JsonRpcMessage,
} from './jsonrpc.js';
import {
  decodeHeaderValue,
  HEADER,
  isModernVersion,
  MCP_NAME_PARAM,
  META,
  MODERN_METHOD,
  MODERN_PROTOCOL_VERSIONS,
  RPC_ERROR,
  SUPPORTED_PROTOCOL_VERSIONS,
} from './protocol.js';

// What makes a POST a well-formed request of the modern revision (2026-07-28), checked before
// anything runs: one JSON-RPC message; the MCP-Protocol-Version header naming a version we serve
// and agreeing with `_meta`; `_meta` carrying the client's capabilities; and the Mcp-Method and
// Mcp-Name headers agreeing with the body, so that whatever routes or limits on the headers saw
// what the server executes. Each refusal is a 400 with the spec's error code.

export type Checked =
  { ok: true; message: JsonRpcMessage } | { ok: false; status: number; json: string };

const refused = (id: JsonRpcMessage['id'], code: number, message: string): Checked => ({
  ok: false,
  status: 400,
  json: rpcError(id, code, message),
});

const mismatch = (id: JsonRpcMessage['id'], message: string) =>
  refused(id, RPC_ERROR.headerMismatch, `Header mismatch: ${message}`);

/** A short, printable rendering of a client's value for an error message. */
const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 80) ?? 'nothing';

export function checkModernRequest(
  req: IncomingMessage,
  parsed: unknown,
  version: string | undefined,
): Checked {
  if (Array.isArray(parsed)) {
    return refused(
      null,
      RPC_ERROR.invalidRequest,
      'Invalid Request: protocol 2026-07-28 has no batches; send one message per request',
    );
  }
  if (!isMessage(parsed) || parsed.method === undefined) {
    return refused(
      null,
      RPC_ERROR.invalidRequest,
      'Invalid Request: expected a JSON-RPC 2.0 request',
    );
  }
  const id = parsed.id;
  const meta = paramsOf(parsed)._meta;
  const claimed =
    typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
  const versionMismatch = () =>
    mismatch(
      id,
      `MCP-Protocol-Version header ${shown(version)} does not match _meta ${META.protocolVersion} ${shown(claimed?.[META.protocolVersion])}`,
    );
  if (version === undefined) {
    return mismatch(id, 'the MCP-Protocol-Version header is required');
  }
  if (!SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
    return { ok: false, status: 400, json: unsupportedVersion(id, version) };
  }
  if (!MODERN_PROTOCOL_VERSIONS.some((v) => v === version)) {
    return versionMismatch();
  }
  // Notifications (a client ending its listen stream sends notifications/cancelled) carry no
  // header rules in this revision; they are accepted and change nothing.
  if (id === undefined) return { ok: true, message: parsed };

  if (claimed?.[META.protocolVersion] === undefined) {
    return refused(
      id,
      RPC_ERROR.invalidParams,
      `Invalid params: params._meta must carry ${META.protocolVersion} and ${META.clientCapabilities}`,
    );
  }
  if (claimed[META.protocolVersion] !== version) {
    return versionMismatch();
  }
  const capabilities = claimed[META.clientCapabilities];
  if (typeof capabilities !== 'object' || capabilities === null || Array.isArray(capabilities)) {
    return refused(
      id,
      RPC_ERROR.invalidParams,
      `Invalid params: params._meta must carry ${META.clientCapabilities} (an object; {} declares none)`,
    );
  }
  const method = headerOf(req, HEADER.method);
  if (method === undefined) return mismatch(id, 'the Mcp-Method header is required');
  if (method !== parsed.method) {
    return mismatch(
      id,
      `Mcp-Method header ${shown(method)} does not match body method ${shown(parsed.method)}`,
    );
  }
  const field = MCP_NAME_PARAM[parsed.method];
  if (field !== undefined) {
    const raw = headerOf(req, HEADER.name);
    if (raw === undefined) return mismatch(id, `the Mcp-Name header is required for ${method}`);
    const name = decodeHeaderValue(raw);
    if (name === undefined) {
      return mismatch(id, 'the Mcp-Name header is not valid =?base64?…?= of UTF-8 text');
    }
    const body = paramsOf(parsed)[field];
    if (name !== body) {
      return mismatch(
        id,
        `Mcp-Name header ${shown(name)} does not match body params.${field} ${shown(body)}`,
      );
    }
  }
  return { ok: true, message: parsed };
}

/** GET and DELETE belong to the 2025 era; with the modern version header they are 405. */
export function refuseModern(req: IncomingMessage, res: ServerResponse): boolean {
  const version = headerOf(req, HEADER.protocolVersion);
  if (version === undefined || !isModernVersion(version)) return false;
  sendRaw(
    res,
    405,
    rpcError(
      null,
      RPC_ERROR.invalidRequest,
      `Method Not Allowed: protocol ${version.slice(0, 40)} has no sessions or GET stream; POST ${MODERN_METHOD.listen} for notifications`,
    ),
    { allow: 'POST' },
  );
  return true;
}
