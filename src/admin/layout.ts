import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { AdminSession } from '../auth/sessions.js';
import { html, type SafeHtml } from './html.js';
import { STYLES } from './styles.js';

// The page frame and how admin responses are sent. Every admin response carries a strict
// Content-Security-Policy: scripts and styles run only with the response's nonce, so markup that
// slipped through escaping could still not run a script.

export interface Flash {
  error?: string;
  notice?: string;
}

export interface Frame {
  nonce: string;
  session?: AdminSession;
}

export const newNonce = () => randomBytes(16).toString('base64');

export function securityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "img-src 'self' data:",
      "connect-src 'self'",
      "form-action 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}

export function sendHtml(
  res: ServerResponse,
  status: number,
  nonce: string,
  doc: SafeHtml,
  headers: Record<string, string | string[]> = {},
): void {
  if (res.headersSent) return;
  const body = doc.toString();
  res.writeHead(status, {
    ...securityHeaders(nonce),
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** After a form: see the result with GET (reloading does not post again). */
export function redirect(
  res: ServerResponse,
  location: string,
  headers: Record<string, string | string[]> = {},
): void {
  res.writeHead(303, { location, 'cache-control': 'no-store', 'content-length': 0, ...headers });
  res.end();
}

export function csrfInput(session: AdminSession): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${session.csrf}" />`;
}

export function page(
  frame: Frame,
  title: string,
  body: SafeHtml,
  opts: { flash?: Flash; wide?: boolean; script?: SafeHtml } = {},
): SafeHtml {
  const s = frame.session;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>${title} · Baton</title>
<link rel="icon" href="data:," />
<style nonce="${frame.nonce}">${STYLES}</style>
</head>
<body>
<header class="top">
  <a class="brand" href="/admin">Baton</a>
  <nav>${
    s
      ? html`<a href="/admin/projects">Projects</a><a href="/admin/participants">Participants</a>`
      : ''
  }</nav>
  ${
    s
      ? html`<div class="who">
          <span title="${s.email}">${s.handle}</span>
          <form method="post" action="/admin/logout">
            ${csrfInput(s)}<button type="submit">Log out</button>
          </form>
        </div>`
      : ''
  }
</header>
<main${opts.wide ? html` class="wide"` : ''}>
${flashBlock(opts.flash)}
${body}
</main>
${
  opts.script
    ? html`<script nonce="${frame.nonce}">
        ${opts.script};
      </script>`
    : ''
}
</body>
</html>
`;
}

function flashBlock(flash: Flash | undefined): SafeHtml | string {
  if (!flash) return '';
  return html`${flash.error ? html`<div class="flash error" role="alert">${flash.error}</div>` : ''}${
    flash.notice ? html`<div class="flash notice" role="status">${flash.notice}</div>` : ''
  }`;
}

/** Fixed confirmations named in `?done=`, so no text from the URL is ever shown. */
const DONE: Record<string, string> = {
  'project-created': 'Project created.',
  'project-renamed': 'Project renamed.',
  'project-deleted': 'Project deleted, with its ledger.',
  revoked: 'Tokens revoked; their MCP sessions are closed.',
  'admin-set': 'Admin rights updated.',
  'invite-revoked': 'Invite revoked.',
  'invite-already-revoked': 'That invite was already revoked; nothing changed.',
  'liveness-set': 'Liveness window updated.',
  'participant-created': 'Participant created.',
  'participant-renamed': 'Participant renamed; the ledger keeps the old name where it acted.',
  'participant-deleted': 'Participant deleted; its history stays in the ledger.',
  'logged-out': 'You are signed out.',
  posted: 'Posted.',
  'posted-unheard': 'Posted, but nobody is there to receive it yet.',
  acked: 'Acknowledged.',
  'lane-set': 'Lane set; posts to it reach you from now on.',
};

export function flashFromQuery(url: URL): Flash | undefined {
  const done = url.searchParams.get('done');
  const notice = done === null ? undefined : DONE[done];
  return notice ? { notice } : undefined;
}

const UNITS: [number, string][] = [
  [86_400, 'd'],
  [3600, 'h'],
  [60, 'min'],
  [1, 's'],
];

/** "3 min ago", "in 2 h": coarse, for people glancing at a page. */
function relative(d: Date, now = Date.now()): string {
  const seconds = Math.round((d.getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  if (abs < 5) return 'just now';
  const [size, unit] = UNITS.find(([s]) => abs >= s) ?? [1, 's'];
  const n = Math.floor(abs / size);
  return seconds < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
}

export function when(d: Date | null | undefined, now = Date.now()): SafeHtml | string {
  if (!d) return html`<span class="muted">never</span>`;
  const iso = d.toISOString();
  return html`<time datetime="${iso}" title="${iso}">${relative(d, now)}</time>`;
}

const TITLES: Record<number, string> = {
  400: 'That did not work',
  401: 'Signed out',
  403: 'Refused',
  404: 'Not found',
  405: 'Not allowed',
  409: 'Conflict',
  410: 'Gone',
  429: 'Slow down',
  500: 'Something went wrong',
  503: 'Unavailable',
};

export function errorDoc(frame: Frame, status: number, message: string) {
  const title = TITLES[status] ?? 'Error';
  return page(
    frame,
    title,
    html`<section class="card">
      <h1>${title}</h1>
      <p>${message}</p>
      <p>
        <a href="${frame.session ? '/admin/projects' : '/admin/login'}"
          >${frame.session ? 'Back to your projects' : 'Go to sign-in'}</a
        >
      </p>
    </section>`,
  );
}
