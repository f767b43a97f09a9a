import { issueSignInLink } from '../../src/auth/links.js';
import { ensureOwner } from '../../src/auth/provision.js';
import { loadKeys } from '../../src/auth/secret.js';
import type { TestBaton } from './baton.js';

// A browser-shaped HTTP client for the web admin: a cookie jar, manual redirects (so tests see
// each 303 and Set-Cookie), the CSRF token of the last page it loaded, and our own Origin on
// every form post unless a test says otherwise.

export interface WebResponse {
  status: number;
  headers: Headers;
  text: string;
  location: string | null;
}

export class WebClient {
  readonly cookies = new Map<string, string>();
  /** The CSRF token of the last page that had a form. */
  csrf = '';

  constructor(
    readonly base: string,
    readonly opts: { forwardedFor?: string } = {},
  ) {}

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { ...extra };
    if (this.cookies.size > 0) {
      h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    }
    if (this.opts.forwardedFor) h['x-forwarded-for'] = this.opts.forwardedFor;
    return h;
  }

  private async take(res: Response): Promise<WebResponse> {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      if (attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '')
        this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(text)?.[1];
    if (csrf) this.csrf = csrf;
    return {
      status: res.status,
      headers: res.headers,
      text,
      location: res.headers.get('location'),
    };
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<WebResponse> {
    const res = await fetch(new URL(path, this.base), {
      headers: this.headers(headers),
      redirect: 'manual',
    });
    return this.take(res);
  }

  /**
   * Posts a form. By default it sends this page's Origin and the client's CSRF token; pass
   * `origin: null` or `csrf: null` to leave them out.
   */
  async post(
    path: string,
    fields: Record<string, string> = {},
    o: { origin?: string | null; csrf?: string | null; headers?: Record<string, string> } = {},
  ): Promise<WebResponse> {
    const body = new URLSearchParams(fields);
    const csrf = o.csrf === undefined ? this.csrf : o.csrf;
    if (csrf !== null && !('_csrf' in fields)) body.set('_csrf', csrf);
    const origin = o.origin === undefined ? new URL(this.base).origin : o.origin;
    const res = await fetch(new URL(path, this.base), {
      method: 'POST',
      headers: this.headers({
        'content-type': 'application/x-www-form-urlencoded',
        ...(origin !== null ? { origin } : {}),
        ...o.headers,
      }),
      body,
      redirect: 'manual',
    });
    return this.take(res);
  }

  /** Follows a 303 the way a browser would. */
  async follow(r: WebResponse): Promise<WebResponse> {
    if (!r.location)
      throw new Error(`expected a redirect, got ${r.status}: ${r.text.slice(0, 300)}`);
    return this.get(r.location);
  }
}

/** A fresh one-time sign-in URL for the owner with this email (created when missing). */
export async function signInLink(baton: TestBaton, email: string): Promise<string> {
  await ensureOwner(baton.storage.db, email);
  const keys = await loadKeys(baton.storage.db, baton.config);
  return (await issueSignInLink(baton.storage.db, keys, baton.config.publicUrl, email)).url;
}

let addresses = 0;
/**
 * A client address of its own for each caller, so sign-ins in one file do not share the
 * per-address budget (the test server must trust 127.0.0.1 as a proxy for this to count).
 */
export const nextAddress = () => `198.18.${Math.floor(++addresses / 250)}.${(addresses % 250) + 1}`;

/** Signs in through a one-time link, as a browser would, and loads the projects page. */
export async function signIn(
  baton: TestBaton,
  email: string,
  opts: { forwardedFor?: string } = {},
): Promise<WebClient> {
  const client = new WebClient(baton.baseUrl, { forwardedFor: nextAddress(), ...opts });
  const url = await signInLink(baton, email);
  const confirm = await client.get(url);
  if (confirm.status !== 200) throw new Error(`sign-in page answered ${confirm.status}`);
  const token = new URL(url).searchParams.get('token') as string;
  const done = await client.post('/admin/login/link', { token });
  if (done.status !== 303) throw new Error(`sign-in answered ${done.status}: ${done.text}`);
  const projects = await client.follow(done);
  if (projects.status !== 200) throw new Error(`projects page answered ${projects.status}`);
  return client;
}

/** Text of a page with tags removed and entities decoded, for "what the user sees" checks. */
export function visibleText(page: string): string {
  return page
    .replace(/<style[\s\S]*?<\/style>/g, ' ')
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');
}
