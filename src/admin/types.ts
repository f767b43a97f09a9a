import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OidcClient } from '../auth/oidc.js';
import type { AdminKeys } from '../auth/secret.js';
import type { AdminSession } from '../auth/sessions.js';
import type { RateLimiter } from '../http/ratelimit.js';
import type { DispatchDeps } from '../tools/dispatch.js';
import type { SafeHtml } from './html.js';
import type { Flash } from './layout.js';

// What an admin route is and what it receives.

/** What the pages need beside the dispatcher's own (the owner's acts go through callTool). */
export interface AdminDeps extends DispatchDeps {
  /** Per client address on sign-in: 10 a minute (spec §8). */
  signInLimiter: RateLimiter;
  keys: () => Promise<AdminKeys>;
  oidc: OidcClient | undefined;
}

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  deps: AdminDeps;
  requestId: string;
  url: URL;
  params: Record<string, string>;
  nonce: string;
  keys: AdminKeys;
  session: AdminSession | undefined;
  /** The parsed body of a POST (empty for GET). */
  form: URLSearchParams;
}

/** A call on a route that requires a signed-in owner: the router has checked the session. */
export interface OwnerCall extends Call {
  session: AdminSession;
}

export interface Route {
  method: 'GET' | 'POST';
  /** `/admin/projects/:project`: every parameter is a numeric id. */
  path: string;
  access: 'public' | 'owner';
  /** A Server-Sent Events stream: refused with a bare 401 rather than a redirect. */
  stream?: boolean;
  handle(c: Call): Promise<void>;
  /** For a form: the page it was sent from, shown again with the reason when it is refused. */
  page?(c: OwnerCall, flash: Flash): Promise<SafeHtml>;
}

export function ownerGet(
  path: string,
  handle: (c: OwnerCall) => Promise<void>,
  opts: { stream?: boolean } = {},
): Route {
  return { method: 'GET', path, access: 'owner', handle: handle as Route['handle'], ...opts };
}

export function ownerPost(
  path: string,
  handle: (c: OwnerCall) => Promise<void>,
  page: (c: OwnerCall, flash: Flash) => Promise<SafeHtml>,
): Route {
  return { method: 'POST', path, access: 'owner', handle: handle as Route['handle'], page };
}

export function publicRoute(
  method: 'GET' | 'POST',
  path: string,
  handle: (c: Call) => Promise<void>,
): Route {
  return { method, path, access: 'public', handle };
}
