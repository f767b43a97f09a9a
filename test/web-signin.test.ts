import { SignJWT } from 'jose';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { deriveKeys, loadKeys } from '../src/auth/secret.js';
import { startTestBaton, useTestBaton } from './helpers/baton.js';
import { runCli } from './helpers/process.js';
import { nextAddress, signIn, signInLink, WebClient } from './helpers/web.js';

// Owner sign-in with one-time links, sessions and logout (spec §9; issue done-when 3 and 7).

// Trust 127.0.0.1 as a proxy so each test can be its own client address for the sign-in limit.
const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

const tokenOf = (url: string) => new URL(url).searchParams.get('token') as string;

/** Opens a link's confirmation page, then presses its button. */
async function useLink(
  url: string,
  client = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() }),
) {
  const confirm = await client.get(url);
  const done = await client.post('/admin/login/link', { token: tokenOf(url) });
  return { client, confirm, done };
}

/**
 * A browser that holds a confirmation form (its cookie and CSRF token) from a valid link, as a
 * second tab would: it can post any token, so the refusal is about the token alone.
 */
async function primedBrowser() {
  const client = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
  expect((await client.get(await signInLink(baton, 'primer@example.test'))).status).toBe(200);
  return client;
}

describe('baton admin-link', () => {
  it('prints a sign-in URL under PUBLIC_URL that works in the web admin', async () => {
    await signInLink(baton, 'cli@example.test'); // creates the owner
    const r = await runCli(['admin-link', 'cli@example.test'], {
      DATABASE_URL: baton.config.databaseUrl as string,
      PUBLIC_URL: baton.baseUrl,
      LOG_LEVEL: 'silent',
    });
    expect(r.code, r.stderr).toBe(0);
    const url = r.stdout.trim();
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(url).toMatch(new RegExp(`^${baton.baseUrl}/admin/login/link\\?token=[\\w.-]+$`));
    expect(r.stderr).toMatch(/works once, until \d{4}-/);
    const { confirm, done } = await useLink(url);
    expect(confirm.text).toContain('Sign in to Baton as <strong>cli</strong>');
    expect(done.status).toBe(303);
    // The CLI and the server agree on the secret because it lives in the database, once.
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from server_settings`.execute(baton.storage.db);
    expect(rows[0]?.n).toBe(1);
  });

  it('refuses an unknown owner or a malformed email in one line, without a stack trace', async () => {
    const env = { DATABASE_URL: baton.config.databaseUrl as string, LOG_LEVEL: 'silent' };
    const unknown = await runCli(['admin-link', 'nobody@example.test'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /^baton admin-link: not_found: no owner has the email nobody@example\.test; create one with npx baton bootstrap-owner/,
    );
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stdout).toBe('');
    const bad = await runCli(['admin-link', 'not-an-email'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/invalid_argument: "not-an-email" is not an email address/);
    expect((await runCli(['admin-link'], env)).code).toBe(2);
    const help = await runCli(['admin-link', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^baton admin-link <email>/);
  });
});

describe('one-time links', () => {
  it('sign in once; a second use of the same link is refused', async () => {
    const url = await signInLink(baton, 'once@example.test');
    const secondTab = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
    expect((await secondTab.get(url)).status).toBe(200);
    const first = await useLink(url);
    expect(first.confirm.status).toBe(200);
    expect(first.done.status).toBe(303);
    expect(first.done.location).toBe('/admin/projects');
    const cookie = first.done.headers.getSetCookie().find((c) => c.startsWith('baton_admin='));
    expect(cookie).toMatch(/; Path=\/admin; Max-Age=43200; HttpOnly; SameSite=Lax$/);
    const projects = await first.client.follow(first.done);
    expect(projects.status).toBe(200);
    expect(projects.text).toContain('Signed in as once.');

    const reopened = await new WebClient(baton.baseUrl).get(url);
    expect(reopened.status).toBe(410);
    expect(reopened.text).toContain('already been used');
    const again = await secondTab.post('/admin/login/link', { token: tokenOf(url) });
    expect(again.status).toBe(410);
    expect(again.text).toContain('already been used');
    expect(again.headers.getSetCookie().some((c) => c.startsWith('baton_admin='))).toBe(false);
    expect((await secondTab.get('/admin/projects')).status).toBe(303);
  });

  it('under concurrent redemption of one link exactly one browser is signed in', async () => {
    const url = await signInLink(baton, 'race@example.test');
    const clients = Array.from(
      { length: 8 },
      () => new WebClient(baton.baseUrl, { forwardedFor: nextAddress() }),
    );
    for (const c of clients) await c.get(url);
    const results = await Promise.all(
      clients.map((c) => c.post('/admin/login/link', { token: tokenOf(url) })),
    );
    expect(results.filter((r) => r.status === 303)).toHaveLength(1);
    expect(results.filter((r) => r.status === 410)).toHaveLength(7);
  });

  it('refuses an expired link, whether the database or the signature says so', async () => {
    const url = await signInLink(baton, 'late@example.test');
    await sql`update admin_links set expires_at = now() - interval '1 second'
              where owner_id = (select id from owners where email = 'late@example.test')`.execute(
      baton.storage.db,
    );
    const stale = await useLink(url, await primedBrowser());
    expect(stale.confirm.status).toBe(410);
    expect(stale.confirm.text).toContain('expired');
    expect(stale.done.status).toBe(410);
    expect(stale.done.text).toContain('expired');

    // A token whose own expiry has passed, correctly signed: refused before the database is asked.
    const keys = await loadKeys(baton.storage.db, baton.config);
    const old = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x'.repeat(43))
      .setAudience('baton:sign-in-link')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
      .sign(keys.link);
    const expired = await useLink(
      `${baton.baseUrl}/admin/login/link?token=${old}`,
      await primedBrowser(),
    );
    expect(expired.confirm.status).toBe(410);
    expect(expired.done.status).toBe(410);
  });

  it('refuses a tampered or forged link, and never spends the real one', async () => {
    const url = await signInLink(baton, 'tamper@example.test');
    const token = tokenOf(url);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const flip = (s: string) => s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    const forgedKey = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(JSON.parse(Buffer.from(payload, 'base64url').toString()).sub)
      .setAudience('baton:sign-in-link')
      .setExpirationTime('10m')
      .sign(deriveKeys('a different secret of at least 32 characters').link);
    const variants = [
      `${header}.${payload}.${flip(signature)}`,
      `${header}.${flip(payload)}.${signature}`,
      forgedKey,
      'garbage',
      '',
      'x'.repeat(5000),
    ];
    const browser = await primedBrowser();
    for (const bad of variants) {
      const r = await useLink(`${baton.baseUrl}/admin/login/link?token=${bad}`, browser);
      expect(r.confirm.status, bad.slice(0, 30)).toBe(400);
      expect(r.done.status, bad.slice(0, 30)).toBe(400);
      expect(r.done.text).toContain('not valid');
    }
    expect((await useLink(url)).done.status).toBe(303);
  });

  it('keeps only hashes of link keys', async () => {
    const url = await signInLink(baton, 'hash@example.test');
    const sub = JSON.parse(
      Buffer.from(tokenOf(url).split('.')[1] as string, 'base64url').toString(),
    ).sub as string;
    const { rows } = await sql<{
      row: string;
    }>`select row_to_json(l)::text as row from admin_links l`.execute(baton.storage.db);
    for (const r of rows) expect(r.row).not.toContain(sub);
  });

  it('refuses the confirmation form without its cookie token or from another origin', async () => {
    const url = await signInLink(baton, 'form@example.test');
    const client = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
    await client.get(url);
    const token = tokenOf(url);
    expect((await client.post('/admin/login/link', { token, _csrf: 'wrong' })).status).toBe(403);
    expect(
      (await client.post('/admin/login/link', { token }, { origin: 'https://evil.example' }))
        .status,
    ).toBe(403);
    const stranger = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
    expect((await stranger.post('/admin/login/link', { token, _csrf: client.csrf })).status).toBe(
      403,
    );
    // None of that spent the link.
    expect((await client.post('/admin/login/link', { token })).status).toBe(303);
  });

  it('limits sign-in attempts to 10 a minute per client address', async () => {
    const client = new WebClient(baton.baseUrl, { forwardedFor: '203.0.113.77' });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      statuses.push((await client.post('/admin/login/link', { token: 'nope', _csrf: 'x' })).status);
    }
    expect(statuses.slice(0, 10).every((s) => s === 403)).toBe(true);
    const limited = await client.post('/admin/login/link', { token: 'nope', _csrf: 'x' });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.text).toContain('Too many sign-in attempts');
  });
});

describe('sessions', () => {
  it('refuses a forged, tampered or expired session cookie', async () => {
    const client = await signIn(baton, 'cookie@example.test');
    const jwt = client.cookies.get('baton_admin') as string;
    expect((await client.get('/admin/projects')).status).toBe(200);
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(JSON.parse(Buffer.from(jwt.split('.')[1] as string, 'base64url').toString()).sub)
      .setAudience('baton:admin-session')
      .setExpirationTime('1h')
      .sign(deriveKeys('a different secret of at least 32 characters').session);
    for (const bad of [forged, `${jwt.slice(0, -3)}abc`, 'not-a-jwt']) {
      const other = new WebClient(baton.baseUrl);
      other.cookies.set('baton_admin', bad);
      const r = await other.get('/admin/projects');
      expect(r.status).toBe(303);
      expect(r.location).toBe('/admin/login');
    }
    await sql`update admin_sessions set expires_at = now() - interval '1 second'
              where owner_id = (select id from owners where email = 'cookie@example.test')`.execute(
      baton.storage.db,
    );
    expect((await client.get('/admin/projects')).status).toBe(303);
  });

  it('logging out ends the session on every process: the old cookie is refused afterwards', async () => {
    const other = await startTestBaton({ database: { url: baton.config.databaseUrl as string } });
    try {
      const client = await signIn(baton, 'logout@example.test');
      const cookie = client.cookies.get('baton_admin') as string;
      // Any process serves any request: the same cookie works on the second process.
      const there = new WebClient(other.baseUrl);
      there.cookies.set('baton_admin', cookie);
      const page = await there.get('/admin/projects');
      expect(page.status).toBe(200);
      expect(page.text).toContain('Signed in as logout.');

      const out = await client.post('/admin/logout');
      expect(out.status).toBe(303);
      expect(out.location).toBe('/admin/login?done=logged-out');
      expect(out.headers.getSetCookie()).toContainEqual(
        expect.stringMatching(/^baton_admin=; Path=\/admin; Max-Age=0/),
      );
      expect((await client.follow(out)).text).toContain('You are signed out.');

      // The browser dropped the cookie, but a copy of it is worth nothing on either process.
      for (const base of [baton.baseUrl, other.baseUrl]) {
        const replay = new WebClient(base);
        replay.cookies.set('baton_admin', cookie);
        const r = await replay.get('/admin/projects');
        expect(r.status, base).toBe(303);
        expect(r.location).toBe('/admin/login');
        const form = await replay.post(
          '/admin/projects',
          { slug: 'after', name: 'After' },
          { csrf: there.csrf },
        );
        expect(form.status, base).toBe(401);
      }
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from projects where slug = 'after'`.execute(baton.storage.db);
      expect(rows[0]?.n).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('signs with BATON_SECRET when it is set, so the stored secret no longer counts', async () => {
    const configured = await startTestBaton({
      database: { url: baton.config.databaseUrl as string },
      env: { BATON_SECRET: 'an operator-chosen secret of more than 32 characters' },
    });
    try {
      const fromStored = await signInLink(baton, 'rotate@example.test');
      const there = new WebClient(configured.baseUrl);
      const refused = await there.get(fromStored.replace(baton.baseUrl, configured.baseUrl));
      expect(refused.status).toBe(400);
      const fromConfigured = await signInLink(configured, 'rotate@example.test');
      const { done } = await useLink(fromConfigured, new WebClient(configured.baseUrl));
      expect(done.status).toBe(303);
      // A session of one secret is no session under the other.
      const cookie = done.headers.getSetCookie().find((c) => c.startsWith('baton_admin='));
      const elsewhere = new WebClient(baton.baseUrl);
      elsewhere.cookies.set('baton_admin', (cookie as string).split(';')[0]?.slice(12) as string);
      expect((await elsewhere.get('/admin/projects')).status).toBe(303);
    } finally {
      await configured.close();
    }
  });

  it('marks the cookie Secure when PUBLIC_URL is https', async () => {
    const secure = await startTestBaton({
      database: { url: baton.config.databaseUrl as string },
      env: { PUBLIC_URL: 'https://baton.example.test' },
    });
    try {
      const link = await signInLink(secure, 'secure@example.test');
      expect(link.startsWith('https://baton.example.test/admin/login/link?token=')).toBe(true);
      const client = new WebClient(secure.baseUrl);
      const confirm = await client.get(link.replace('https://baton.example.test', secure.baseUrl));
      expect(confirm.headers.getSetCookie()[0]).toMatch(/; Secure$/);
      const done = await client.post(
        '/admin/login/link',
        { token: tokenOf(link) },
        { origin: 'https://baton.example.test' },
      );
      expect(done.status).toBe(303);
      expect(done.headers.getSetCookie().find((c) => c.startsWith('baton_admin='))).toMatch(
        /HttpOnly; SameSite=Lax; Secure$/,
      );
    } finally {
      await secure.close();
    }
  });
});
