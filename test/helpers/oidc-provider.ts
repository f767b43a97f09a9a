import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';

// A small OpenID Connect provider for tests: discovery, an authorize endpoint that signs the
// user in at once, a token endpoint that checks the client secret and the PKCE verifier, and a
// JWKS. `next` shapes the id_token of the next exchange, to test every way one can be wrong.

export interface IdTokenShape {
  /** Claims to override or add (undefined removes one). */
  claims?: Partial<Record<string, unknown>>;
  /** Sign with a key the JWKS does not publish (under the published key's kid). */
  foreignKey?: boolean;
}

export interface TestProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** The account that signs in at /authorize. */
  user: { sub: string; email: string; email_verified: boolean | string };
  next: IdTokenShape;
  /** PKCE verifiers the token endpoint refused (a wrong one would mean a broken client). */
  pkceFailures: number;
  close(): Promise<void>;
}

interface Pending {
  nonce: string;
  challenge: string;
  redirectUri: string;
}

export async function startProvider(): Promise<TestProvider> {
  const kid = 'test-key-1';
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const codes = new Map<string, Pending>();
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const provider: TestProvider = {
    issuer,
    clientId: 'baton-test-client',
    clientSecret: 'test-client-secret',
    user: { sub: 'user-1', email: 'oidc@example.test', email_verified: true },
    next: {},
    pkceFailures: 0,
    close: () => new Promise((r) => server.close(() => r())),
  };

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  server.on('request', (req, res) => {
    const url = new URL(req.url ?? '/', issuer);
    if (url.pathname === '/.well-known/openid-configuration') {
      return json(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/authorize`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
      });
    }
    if (url.pathname === '/jwks') return json(res, 200, { keys: [jwk] });
    if (url.pathname === '/authorize') {
      const p = url.searchParams;
      if (
        p.get('client_id') !== provider.clientId ||
        p.get('response_type') !== 'code' ||
        p.get('code_challenge_method') !== 'S256' ||
        !p.get('code_challenge') ||
        !p.get('nonce') ||
        !p.get('state') ||
        !(p.get('scope') ?? '').split(' ').includes('openid')
      ) {
        return json(res, 400, { error: 'invalid_request' });
      }
      const code = randomBytes(16).toString('hex');
      codes.set(code, {
        nonce: p.get('nonce') as string,
        challenge: p.get('code_challenge') as string,
        redirectUri: p.get('redirect_uri') as string,
      });
      const back = new URL(p.get('redirect_uri') as string);
      back.searchParams.set('code', code);
      back.searchParams.set('state', p.get('state') as string);
      res.writeHead(302, { location: back.toString() });
      return res.end();
    }
    if (url.pathname === '/token' && req.method === 'POST') {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        void (async () => {
          const form = new URLSearchParams(body);
          const client = basicCredentials(req.headers.authorization);
          if (client?.id !== provider.clientId || client.secret !== provider.clientSecret) {
            return json(res, 401, { error: 'invalid_client' });
          }
          const code = form.get('code') ?? '';
          const pending = codes.get(code);
          codes.delete(code); // codes are single-use
          if (!pending || form.get('grant_type') !== 'authorization_code') {
            return json(res, 400, { error: 'invalid_grant' });
          }
          if (form.get('redirect_uri') !== pending.redirectUri) {
            return json(res, 400, { error: 'invalid_grant' });
          }
          const verifier = form.get('code_verifier') ?? '';
          if (createHash('sha256').update(verifier).digest('base64url') !== pending.challenge) {
            provider.pkceFailures++;
            return json(res, 400, { error: 'invalid_grant' });
          }
          const shape = provider.next;
          provider.next = {};
          const claims: JWTPayload = {
            iss: issuer,
            aud: provider.clientId,
            sub: provider.user.sub,
            email: provider.user.email,
            email_verified: provider.user.email_verified,
            nonce: pending.nonce,
            iat: Math.floor(Date.now() / 1000),
            exp: Math.floor(Date.now() / 1000) + 300,
          };
          for (const [k, v] of Object.entries(shape.claims ?? {})) {
            if (v === undefined) delete claims[k];
            else claims[k] = v;
          }
          const idToken = await new SignJWT(claims)
            .setProtectedHeader({ alg: 'RS256', kid })
            .sign(shape.foreignKey ? foreign.privateKey : privateKey);
          json(res, 200, { access_token: 'at', token_type: 'Bearer', id_token: idToken });
        })();
      });
      return;
    }
    json(res, 404, { error: 'not_found' });
  });
  return provider;
}

/**
 * client_secret_basic as RFC 6749 §2.3.1 has it: id and secret are form-urlencoded before they
 * are joined and base64-encoded, so a provider decodes each (clients may encode more than needed).
 */
function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const match = /^Basic ([A-Za-z0-9+/=]+)$/.exec(header ?? '');
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], 'base64').toString();
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const form = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    return { id: form(decoded.slice(0, colon)), secret: form(decoded.slice(colon + 1)) };
  } catch {
    return undefined;
  }
}
