import { randomBytes } from 'node:crypto';
import { AppError } from '../errors.js';
import { inspectLink, LINK_PROBLEMS, redeemLink, type LinkProblem } from '../auth/links.js';
import { OidcRefused, OIDC_STATE_COOKIE, ownerForIdentity } from '../auth/oidc.js';
import {
  clearSessionCookie,
  endSession,
  isSecure,
  parseCookies,
  sameSecret,
  serializeCookie,
  startSession,
} from '../auth/sessions.js';
import { transact } from '../db/pool.js';
import { clientAddress } from '../http/request.js';
import { html } from './html.js';
import { errorDoc, flashFromQuery, page, redirect, sendHtml } from './layout.js';
import { publicRoute, type Call, type OwnerCall, type Route } from './types.js';

// Signing in and out. A one-time link opens a confirmation page whose button posts the link
// back, so a mail scanner that fetches the URL does not spend it; that form carries a CSRF token
// tied to a cookie the page set (there is no session yet to tie it to). OpenID Connect sends the
// browser to the provider and back. Each attempt counts against the client address's sign-in
// budget of 10 a minute.

const LOGIN_COOKIE = 'baton_login';

const PROBLEM_STATUS: Record<LinkProblem, number> = { invalid: 400, expired: 410, used: 410 };

function spendAttempt(c: Call): void {
  const d = c.deps.signInLimiter.take(clientAddress(c.req, c.deps.config));
  if (!d.ok) {
    throw new AppError(
      'rate_limited',
      `Too many sign-in attempts from this address; try again in ${d.retryAfter} s.`,
      { retry_after_seconds: d.retryAfter },
    );
  }
}

async function loginPage(c: Call): Promise<void> {
  if (c.session) return redirect(c.res, '/admin/projects');
  const oidc = c.deps.config.oidc;
  const body = html`<section class="card">
    <h1>Sign in to Baton</h1>
    <p>
      Sign-in links are made on the server: run
      <code>npx baton admin-link you@example.com</code> there (or ask whoever runs Baton). A link
      works once, within 15 minutes.
    </p>
    ${
      oidc
        ? html`<p>
            <a class="button primary" href="/admin/login/oidc"
              >Sign in with ${new URL(oidc.issuer).host}</a
            >
          </p>`
        : ''
    }
  </section>`;
  sendHtml(c.res, 200, c.nonce, page(c, 'Sign in', body, { flash: flashFromQuery(c.url) }));
}

function linkProblem(c: Call, problem: LinkProblem): void {
  sendHtml(
    c.res,
    PROBLEM_STATUS[problem],
    c.nonce,
    errorDoc(c, PROBLEM_STATUS[problem], LINK_PROBLEMS[problem]),
  );
}

async function linkPage(c: Call): Promise<void> {
  const token = c.url.searchParams.get('token') ?? '';
  const outcome = await inspectLink(c.deps.db, c.keys, token);
  if (!outcome.ok) return linkProblem(c, outcome.problem);
  const csrf = randomBytes(24).toString('base64url');
  const cookie = serializeCookie(LOGIN_COOKIE, csrf, {
    path: '/admin/login',
    maxAge: 900,
    secure: isSecure(c.deps.config),
  });
  const body = html`<section class="card">
    <h1>Sign in</h1>
    <p>Sign in to Baton as <strong>${outcome.owner.handle}</strong> (${outcome.owner.email})?</p>
    <form method="post" action="/admin/login/link">
      <input type="hidden" name="token" value="${token}" />
      <input type="hidden" name="_csrf" value="${csrf}" />
      <button class="primary" type="submit">Sign in</button>
    </form>
    <p class="muted">The link works once: signing in spends it.</p>
  </section>`;
  sendHtml(c.res, 200, c.nonce, page(c, 'Sign in', body), { 'set-cookie': cookie });
}

async function useLink(c: Call): Promise<void> {
  spendAttempt(c);
  const expected = parseCookies(c.req).get(LOGIN_COOKIE) ?? '';
  const given = c.form.get('_csrf') ?? '';
  if (!expected || !sameSecret(given, expected)) {
    return sendHtml(
      c.res,
      403,
      c.nonce,
      errorDoc(
        c,
        403,
        'This sign-in form is stale or was not sent from this browser. Open the link again.',
      ),
    );
  }
  const token = c.form.get('token') ?? '';
  const outcome = await transact(c.deps.db, async (trx) => {
    const link = await redeemLink(trx, c.keys, token);
    if (!link.ok) return link;
    // Using the link and starting the session commit together, or not at all.
    const cookie = await startSession(trx, c.keys, c.deps.config, link.owner.id, 'link');
    return { ok: true as const, cookie };
  });
  if (!outcome.ok) return linkProblem(c, outcome.problem);
  if (c.session) await endSession(c.deps.db, c.session.key);
  const clear = serializeCookie(LOGIN_COOKIE, '', {
    path: '/admin/login',
    maxAge: 0,
    secure: isSecure(c.deps.config),
  });
  redirect(c.res, '/admin/projects', { 'set-cookie': [outcome.cookie, clear] });
}

async function beginOidc(c: Call): Promise<void> {
  const oidc = c.deps.oidc;
  if (!oidc) throw new AppError('not_found', 'no such page');
  spendAttempt(c);
  const { location, cookie } = await oidc.begin(c.keys);
  c.res.writeHead(302, { location, 'set-cookie': cookie, 'cache-control': 'no-store' });
  c.res.end();
}

async function finishOidc(c: Call): Promise<void> {
  const oidc = c.deps.oidc;
  if (!oidc) throw new AppError('not_found', 'no such page');
  spendAttempt(c);
  const clear = oidc.clearStateCookie();
  let identity;
  try {
    identity = await oidc.complete(
      c.keys,
      c.url.searchParams,
      parseCookies(c.req).get(OIDC_STATE_COOKIE),
    );
  } catch (err) {
    if (!(err instanceof OidcRefused)) throw err;
    c.deps.log.warn({ reqId: c.requestId, reason: err.message }, 'OIDC sign-in refused');
    return sendHtml(c.res, 403, c.nonce, errorDoc(c, 403, `Sign-in refused: ${err.message}.`), {
      'set-cookie': clear,
    });
  }
  const owner = await ownerForIdentity(c.deps.db, identity);
  const cookie = await startSession(c.deps.db, c.keys, c.deps.config, owner.id, 'oidc');
  if (c.session) await endSession(c.deps.db, c.session.key);
  redirect(c.res, '/admin/projects', { 'set-cookie': [cookie, clear] });
}

async function logout(c: OwnerCall): Promise<void> {
  await endSession(c.deps.db, c.session.key);
  redirect(c.res, '/admin/login?done=logged-out', {
    'set-cookie': clearSessionCookie(c.deps.config),
  });
}

export const LOGIN_ROUTES: Route[] = [
  publicRoute('GET', '/admin/login', loginPage),
  publicRoute('GET', '/admin/login/link', linkPage),
  publicRoute('POST', '/admin/login/link', useLink),
  publicRoute('GET', '/admin/login/oidc', beginOidc),
  publicRoute('GET', '/admin/login/oidc/callback', finishOidc),
  { method: 'POST', path: '/admin/logout', access: 'owner', handle: logout as Route['handle'] },
];
