import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, toAppError } from '../errors.js';
import { createOidcClient } from '../auth/oidc.js';
import { keyCache } from '../auth/secret.js';
import { ownsPath } from '../db/admin.js';
import { readSession, sameSecret } from '../auth/sessions.js';
import { RateLimiter } from '../http/ratelimit.js';
import type { DispatchDeps } from '../tools/dispatch.js';
import { readForm, sameOrigin } from './forms.js';
import { errorDoc, newNonce, redirect, sendHtml, type Frame } from './layout.js';
import { ROUTES } from './routes.js';
import type { AdminDeps, Call, OwnerCall, Route } from './types.js';

// The web admin's one entry point (server.ts sends every /admin path here): match the route,
// read the session from its signed cookie and the database, refuse form posts from another
// origin or without the session's CSRF token, run the handler, and answer every failure with an
// HTML page, never a stack trace.

export type AdminHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
) => Promise<void>;

interface Compiled {
  route: Route;
  pattern: RegExp;
  names: string[];
}

function compile(route: Route): Compiled {
  const names: string[] = [];
  const source = route.path.replace(/:([a-z]+)/g, (_, name: string) => {
    names.push(name);
    return '([1-9][0-9]{0,17})';
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

export function createAdminHandler(base: DispatchDeps): AdminHandler {
  const deps: AdminDeps = {
    ...base,
    signInLimiter: new RateLimiter(10 / 60, 10),
    keys: keyCache(base.db, base.config),
    oidc: base.config.oidc ? createOidcClient(base.config.oidc, base.config) : undefined,
  };
  const compiled = ROUTES.map(compile);
  return async (req, res, requestId) => {
    const nonce = newNonce();
    const frame: Frame = { nonce };
    try {
      await dispatch(req, res, requestId, nonce, frame, deps, compiled);
    } catch (err) {
      fail(res, frame, deps, requestId, err);
    }
  };
}

async function dispatch(
  req: IncomingMessage,
  res: ServerResponse,
  requestId: string,
  nonce: string,
  frame: Frame,
  deps: AdminDeps,
  compiled: Compiled[],
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin.invalid');
  const refuse = (status: number, message: string) =>
    sendHtml(res, status, nonce, errorDoc(frame, status, message));
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  const keys = await deps.keys();
  const session = await readSession(req, deps.db, keys);
  frame.session = session;
  if (url.pathname === '/admin' || url.pathname === '/admin/') {
    return redirect(res, session ? '/admin/projects' : '/admin/login');
  }
  const matches = compiled
    .map((c) => ({ c, m: c.pattern.exec(url.pathname) }))
    .filter((x) => x.m !== null);
  if (matches.length === 0) throw new AppError('not_found', 'no such page');
  // HEAD is answered like GET, except on a stream, which would never end.
  const hit = matches.find(
    (x) => x.c.route.method === method && !(req.method === 'HEAD' && x.c.route.stream),
  );
  if (!hit) {
    res.setHeader('allow', [...new Set(matches.map((x) => x.c.route.method))].join(', '));
    return refuse(405, 'This page does not take that method.');
  }
  const { route, names } = hit.c;
  const params: Record<string, string> = {};
  names.forEach((name, i) => (params[name] = hit.m?.[i + 1] ?? ''));
  const c: Call = {
    req,
    res,
    deps,
    requestId,
    url,
    params,
    nonce,
    keys,
    session,
    form: new URLSearchParams(),
  };

  if (route.access === 'owner' && !session) {
    if (route.stream) return plain(res, 401, 'sign in again at /admin/login');
    if (method === 'GET') return redirect(res, '/admin/login');
    return refuse(401, 'Your session has ended; sign in again.');
  }
  if (route.method === 'POST') {
    if (!sameOrigin(req, deps.config)) {
      return refuse(
        403,
        'This form was not sent from a page of this Baton (Origin check), so it was refused. If you opened Baton at another address than PUBLIC_URL, use that address or ask the operator to set PUBLIC_URL.',
      );
    }
    c.form = await readForm(req);
    if (route.access === 'owner' && !sameSecret(c.form.get('_csrf') ?? '', session?.csrf ?? '')) {
      return refuse(
        403,
        'The form’s security token is missing or stale. Reload the page and try again.',
      );
    }
  }
  // Another owner's ids answer 404 before a handler runs or reads the form's fields.
  if (session && names.length > 0 && !(await ownsPath(deps.db, session.ownerId, params))) {
    throw new AppError('not_found', 'no such page');
  }
  try {
    await route.handle(c);
  } catch (err) {
    const e = toAppError(err);
    // A refused form shows its page again with the reason; a missing object is a plain 404.
    if (!route.page || e.code === 'internal' || e.code === 'not_found' || res.headersSent)
      throw err;
    sendHtml(res, e.status, nonce, await route.page(c as OwnerCall, { error: e.message }));
  }
}

function fail(
  res: ServerResponse,
  frame: Frame,
  deps: AdminDeps,
  requestId: string,
  err: unknown,
): void {
  const e = toAppError(err);
  if (e.code === 'internal') deps.log.error({ err, reqId: requestId }, 'admin request failed');
  else deps.log.warn({ reqId: requestId, code: e.code, msg: e.message }, 'admin request refused');
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const message =
    e.code === 'internal'
      ? `Baton hit an internal error. Quote request id ${requestId} to your operator.`
      : e.code === 'not_found'
        ? 'There is no such page, or it belongs to someone else.'
        : e.message;
  const headers: Record<string, string> = {};
  const retry = e.details.retry_after_seconds;
  if (e.code === 'rate_limited' && typeof retry === 'number')
    headers['retry-after'] = String(retry);
  sendHtml(res, e.status, frame.nonce, errorDoc(frame, e.status, message), headers);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  });
  res.end(`${text}\n`);
}
