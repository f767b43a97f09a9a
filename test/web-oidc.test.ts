import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureOwner } from '../src/auth/provision.js';
import { ConfigError, loadConfig } from '../src/config.js';
import { startTestBaton, type TestBaton } from './helpers/baton.js';
import { startProvider, type IdTokenShape, type TestProvider } from './helpers/oidc-provider.js';
import { nextAddress, WebClient, type WebResponse } from './helpers/web.js';

// Owner sign-in through OpenID Connect against a provider started by the test (issue done-when 4).

let provider: TestProvider;
let baton: TestBaton;

beforeAll(async () => {
  provider = await startProvider();
  baton = await startTestBaton({
    env: {
      OIDC_ISSUER: provider.issuer,
      OIDC_CLIENT_ID: provider.clientId,
      OIDC_CLIENT_SECRET: provider.clientSecret,
      TRUST_PROXY: '127.0.0.1/32',
    },
  });
});

afterAll(async () => {
  await baton?.close();
  await provider?.close();
});

/** The whole redirect dance: Baton → provider → Baton's callback. */
async function oidcSignIn(
  shape: IdTokenShape = {},
  client = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() }),
) {
  provider.next = shape;
  const start = await client.get('/admin/login/oidc');
  expect(start.status).toBe(302);
  const authorize = await fetch(start.location as string, { redirect: 'manual' });
  expect(authorize.status).toBe(302);
  const callback = new URL(authorize.headers.get('location') as string);
  expect(callback.origin).toBe(baton.baseUrl);
  const done = await client.get(callback.pathname + callback.search);
  return { client, start, callback, done };
}

const sessionCookie = (r: WebResponse) =>
  r.headers.getSetCookie().find((c) => c.startsWith('baton_admin='));

async function identities(): Promise<
  { issuer: string; subject: string; owner_id: string; email: string }[]
> {
  const { rows } = await sql<{ issuer: string; subject: string; owner_id: string; email: string }>`
    select issuer, subject, owner_id, email from oidc_identities order by subject`.execute(
    baton.storage.db,
  );
  return rows;
}

describe('OpenID Connect sign-in', () => {
  it('offers the provider on the sign-in page', async () => {
    const page = await new WebClient(baton.baseUrl).get('/admin/login');
    expect(page.text).toContain('href="/admin/login/oidc"');
    expect(page.text).toContain(`Sign in with ${new URL(provider.issuer).host}`);
  });

  it('signs in with the authorization code flow, PKCE, state and nonce, keyed by issuer and subject', async () => {
    provider.user = { sub: 'user-1', email: 'oidc@example.test', email_verified: true };
    const { client, start, done } = await oidcSignIn();
    const auth = new URL(start.location as string);
    expect(auth.origin + auth.pathname).toBe(`${provider.issuer}/authorize`);
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      response_type: 'code',
      client_id: provider.clientId,
      redirect_uri: `${baton.baseUrl}/admin/login/oidc/callback`,
      code_challenge_method: 'S256',
      scope: 'openid email',
    });
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(auth.searchParams.get('nonce')).toMatch(/^[\w-]{43}$/);
    expect(auth.searchParams.get('state')).toMatch(/^[\w-]{43}$/);
    expect(start.headers.getSetCookie()[0]).toMatch(
      /^baton_oidc=.+; Path=\/admin\/login\/oidc; Max-Age=600; HttpOnly; SameSite=Lax$/,
    );

    expect(done.status).toBe(303);
    expect(done.location).toBe('/admin/projects');
    expect(sessionCookie(done)).toBeTruthy();
    expect(done.headers.getSetCookie()).toContainEqual(
      expect.stringMatching(/^baton_oidc=; Path=\/admin\/login\/oidc; Max-Age=0/),
    );
    const page = await client.follow(done);
    expect(page.status).toBe(200);
    expect(page.text).toContain('Signed in as oidc.');
    expect(provider.pkceFailures).toBe(0);
    const ids = await identities();
    expect(ids).toHaveLength(1);
    expect(ids[0]).toMatchObject({
      issuer: provider.issuer,
      subject: 'user-1',
      email: 'oidc@example.test',
    });

    // The identity is its issuer and subject: a changed email at the provider is the same owner.
    provider.user = { sub: 'user-1', email: 'renamed@example.test', email_verified: true };
    const again = await oidcSignIn();
    expect(again.done.status).toBe(303);
    expect((await again.client.follow(again.done)).text).toContain('Signed in as oidc.');
    const after = await identities();
    expect(after).toHaveLength(1);
    expect(after[0]?.owner_id).toBe(ids[0]?.owner_id);
  });

  it('links a new identity to the existing owner with that verified email', async () => {
    const { owner } = await ensureOwner(baton.storage.db, 'known@example.test', 'known-owner');
    provider.user = { sub: 'user-known', email: 'Known@Example.test', email_verified: true };
    const { client, done } = await oidcSignIn();
    expect(done.status).toBe(303);
    expect((await client.follow(done)).text).toContain('Signed in as known-owner.');
    const row = (await identities()).find((i) => i.subject === 'user-known');
    expect(row?.owner_id).toBe(owner.id);
  });

  it('refuses id_tokens with a wrong audience, issuer, nonce or signature, or without a verified email', async () => {
    provider.user = { sub: 'user-bad', email: 'bad@example.test', email_verified: true };
    const before = (await identities()).length;
    const cases: [string, IdTokenShape, RegExp][] = [
      ['audience', { claims: { aud: 'someone-else' } }, /another client/],
      ['issuer', { claims: { iss: 'https://issuer.example.test' } }, /another issuer/],
      ['nonce', { claims: { nonce: 'not-this-sign-in' } }, /nonce/],
      ['nonce missing', { claims: { nonce: undefined } }, /nonce/],
      ['signature', { foreignKey: true }, /signature does not verify/],
      ['email_verified false', { claims: { email_verified: false } }, /not verified the email/],
      [
        'email_verified missing',
        { claims: { email_verified: undefined } },
        /not verified the email/,
      ],
      ['email missing', { claims: { email: undefined } }, /did not share an email/],
      ['expired', { claims: { exp: Math.floor(Date.now() / 1000) - 600 } }, /expired/],
      [
        'second audience without azp',
        { claims: { aud: [provider.clientId, 'other'] } },
        /another client/,
      ],
    ];
    for (const [name, shape, reason] of cases) {
      const { done } = await oidcSignIn(shape);
      expect(done.status, name).toBe(403);
      expect(done.text, name).toMatch(reason);
      expect(sessionCookie(done), name).toBeUndefined();
    }
    expect(await identities()).toHaveLength(before);
    expect(provider.pkceFailures).toBe(0);
  });

  it('refuses an answer for another sign-in, one without its state cookie, and a replayed code', async () => {
    provider.user = { sub: 'user-2', email: 'two@example.test', email_verified: true };
    const client = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
    const start = await client.get('/admin/login/oidc');
    const authorize = await fetch(start.location as string, { redirect: 'manual' });
    const callback = new URL(authorize.headers.get('location') as string);

    const wrongState = new URL(callback);
    wrongState.searchParams.set('state', 'x'.repeat(43));
    const forged = await client.get(wrongState.pathname + wrongState.search);
    expect(forged.status).toBe(403);
    expect(forged.text).toContain('belongs to another sign-in');

    const stranger = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
    const noCookie = await stranger.get(callback.pathname + callback.search);
    expect(noCookie.status).toBe(403);
    expect(noCookie.text).toContain('not started in this browser');

    // A code is good for one exchange: replaying a used answer, even with its state cookie
    // put back, is refused by the provider and so by Baton.
    const replayer = new WebClient(baton.baseUrl, { forwardedFor: nextAddress() });
    const begun = await replayer.get('/admin/login/oidc');
    const state = replayer.cookies.get('baton_oidc') as string;
    const answer = new URL(
      (await fetch(begun.location as string, { redirect: 'manual' })).headers.get(
        'location',
      ) as string,
    );
    expect((await replayer.get(answer.pathname + answer.search)).status).toBe(303);
    replayer.cookies.set('baton_oidc', state);
    const again = await replayer.get(answer.pathname + answer.search);
    expect(again.status).toBe(403);
    expect(again.text).toContain('did not accept the sign-in code');

    const denied = await client.get('/admin/login/oidc/callback?error=access_denied&state=x');
    expect(denied.status).toBe(403);
    expect(denied.text).toContain('the provider answered: access_denied');
  });

  it('requires an https issuer, admitting plain http only on the loopback interface', () => {
    const issuer = (url: string) =>
      loadConfig({ OIDC_ISSUER: url, OIDC_CLIENT_ID: 'c', OIDC_CLIENT_SECRET: 's' }).oidc?.issuer;
    for (const ok of [
      'https://idp.example.test',
      'https://idp.example.test/realms/baton',
      'http://127.0.0.1:8080',
      'http://127.8.0.1',
      'http://localhost:9000/issuer',
      'http://[::1]:8080',
    ]) {
      expect(issuer(ok), ok).toBe(ok);
    }
    for (const bad of [
      'http://idp.example.test',
      'http://10.0.0.5:8080',
      'http://localhost.example.test',
      'http://[::2]',
      'ftp://127.0.0.1',
    ]) {
      expect(() => issuer(bad), bad).toThrow(ConfigError);
      expect(() => issuer(bad), bad).toThrow(/OIDC_ISSUER must be an https URL/);
    }
  });

  it('answers 404 for the OIDC routes when no provider is configured', async () => {
    const plain = await startTestBaton({ database: { url: baton.config.databaseUrl as string } });
    try {
      const client = new WebClient(plain.baseUrl);
      expect((await client.get('/admin/login/oidc')).status).toBe(404);
      expect((await client.get('/admin/login/oidc/callback?code=x&state=y')).status).toBe(404);
      expect((await client.get('/admin/login')).text).not.toContain('/admin/login/oidc');
    } finally {
      await plain.close();
    }
  });
});
