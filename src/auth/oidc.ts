import { createHash, randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors, jwtVerify, SignJWT, type JWTPayload } from 'jose';
import { z } from 'zod';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { findOwnerByEmail } from '../db/identity.js';
import { advisoryXactLock } from '../db/locks.js';
import { transact, type Db } from '../db/pool.js';
import { findOidcIdentity, upsertOidcIdentity, type OwnerRow } from '../db/signin.js';
import { EMAIL } from '../names.js';
import { ensureOwner } from './provision.js';
import type { AdminKeys } from './secret.js';
import { isSecure, serializeCookie } from './sessions.js';

// Owner sign-in through any OpenID Connect provider: discovery, the authorization code flow with
// PKCE (S256), state and nonce, and the id_token verified with jose against the issuer's JWKS.
// state, nonce and the PKCE verifier travel in a short-lived signed cookie scoped to the
// callback, so any process can finish a sign-in another one began. An identity is its issuer and
// subject; the provider's verified email links it to an owner the first time.

export const OIDC_STATE_COOKIE = 'baton_oidc';
const STATE_PATH = '/admin/login/oidc';
const STATE_TTL_SECONDS = 600;
const STATE_AUDIENCE = 'baton:oidc-state';
const DISCOVERY_TTL_MS = 3600_000;
const HTTP_TIMEOUT_MS = 5_000;
// Only signatures a provider's public keys can make: never `none`, never a shared secret.
const ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** A refusal whose message is safe and useful to show the person signing in. */
export class OidcRefused extends Error {}

const DISCOVERY = z.object({
  issuer: z.string().url(),
  authorization_endpoint: z.string().url(),
  token_endpoint: z.string().url(),
  jwks_uri: z.string().url(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
});

const TOKEN_RESPONSE = z.object({ id_token: z.string().min(1).max(16_384) });

const STATE = z.object({ state: z.string(), nonce: z.string(), verifier: z.string() });

const trimSlash = (s: string) => s.replace(/\/+$/, '');
const random = () => randomBytes(32).toString('base64url');

export interface OidcIdentity {
  issuer: string;
  subject: string;
  email: string;
}

export interface OidcClient {
  redirectUri: string;
  /** Where to send the browser, and the cookie that remembers state, nonce and verifier. */
  begin(keys: AdminKeys): Promise<{ location: string; cookie: string }>;
  /** Verifies the provider's answer; throws OidcRefused with the reason. */
  complete(
    keys: AdminKeys,
    params: URLSearchParams,
    stateCookie: string | undefined,
  ): Promise<OidcIdentity>;
  clearStateCookie(): string;
}

export function createOidcClient(
  settings: NonNullable<Config['oidc']>,
  config: Readonly<Config>,
): OidcClient {
  const redirectUri = `${config.publicUrl}/admin/login/oidc/callback`;
  let cached:
    | { meta: z.infer<typeof DISCOVERY>; jwks: ReturnType<typeof createRemoteJWKSet>; at: number }
    | undefined;

  async function discover() {
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached;
    const url = `${trimSlash(settings.issuer)}/.well-known/openid-configuration`;
    let doc: unknown;
    try {
      const res = await fetch(url, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
      if (!res.ok) throw new Error(`status ${res.status}`);
      doc = await res.json();
    } catch {
      throw new AppError(
        'unavailable',
        'the sign-in provider could not be reached; try again shortly',
      );
    }
    const meta = DISCOVERY.safeParse(doc);
    if (!meta.success || trimSlash(meta.data.issuer) !== trimSlash(settings.issuer)) {
      throw new AppError(
        'unavailable',
        'the sign-in provider published an unusable configuration (its issuer must equal OIDC_ISSUER)',
      );
    }
    cached = {
      meta: meta.data,
      jwks: createRemoteJWKSet(new URL(meta.data.jwks_uri), { timeoutDuration: HTTP_TIMEOUT_MS }),
      at: Date.now(),
    };
    return cached;
  }

  async function exchange(code: string, verifier: string): Promise<string> {
    const { meta } = await discover();
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      code_verifier: verifier,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    const methods = meta.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    if (methods.includes('client_secret_basic')) {
      const id = encodeURIComponent(settings.clientId);
      const secret = encodeURIComponent(settings.clientSecret);
      headers.authorization = `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
    } else {
      body.set('client_id', settings.clientId);
      body.set('client_secret', settings.clientSecret);
    }
    let res: Response;
    try {
      res = await fetch(meta.token_endpoint, {
        method: 'POST',
        headers,
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(HTTP_TIMEOUT_MS),
      });
    } catch {
      throw new AppError('unavailable', 'the sign-in provider could not be reached; try again');
    }
    const parsed = TOKEN_RESPONSE.safeParse(await res.json().catch(() => undefined));
    if (!res.ok || !parsed.success) {
      throw new OidcRefused('the provider did not accept the sign-in code; start again');
    }
    return parsed.data.id_token;
  }

  async function verify(idToken: string, nonce: string): Promise<OidcIdentity> {
    const { meta, jwks } = await discover();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, jwks, {
        issuer: meta.issuer,
        audience: settings.clientId,
        algorithms: ALGORITHMS,
        requiredClaims: ['sub', 'exp', 'iat'],
      }));
    } catch (err) {
      throw new OidcRefused(`the identity token was refused: ${whyRefused(err)}`);
    }
    if (typeof payload.nonce !== 'string' || payload.nonce !== nonce) {
      throw new OidcRefused('the identity token was refused: its nonce is not this sign-in’s');
    }
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== settings.clientId) {
      throw new OidcRefused('the identity token was refused: it was issued to another client');
    }
    const subject = payload.sub as string;
    const email = EMAIL.safeParse(payload.email);
    if (!email.success) throw new OidcRefused('the provider did not share an email address');
    if (payload.email_verified !== true && payload.email_verified !== 'true') {
      throw new OidcRefused(
        'the provider has not verified the email address of this account; verify it there first',
      );
    }
    if (subject.length === 0 || subject.length > 255) {
      throw new OidcRefused('the identity token was refused: its subject is unusable');
    }
    return { issuer: meta.issuer, subject, email: email.data };
  }

  const cookie = (value: string, maxAge: number) =>
    serializeCookie(OIDC_STATE_COOKIE, value, {
      path: STATE_PATH,
      maxAge,
      secure: isSecure(config),
    });

  return {
    redirectUri,
    async begin(keys) {
      const { meta } = await discover();
      const state = random();
      const nonce = random();
      const verifier = random();
      const url = new URL(meta.authorization_endpoint);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('client_id', settings.clientId);
      url.searchParams.set('redirect_uri', redirectUri);
      url.searchParams.set('scope', 'openid email');
      url.searchParams.set('state', state);
      url.searchParams.set('nonce', nonce);
      url.searchParams.set(
        'code_challenge',
        createHash('sha256').update(verifier).digest('base64url'),
      );
      url.searchParams.set('code_challenge_method', 'S256');
      const jwt = await new SignJWT({ state, nonce, verifier })
        .setProtectedHeader({ alg: 'HS256' })
        .setAudience(STATE_AUDIENCE)
        .setExpirationTime(`${STATE_TTL_SECONDS}s`)
        .sign(keys.oidc);
      return { location: url.toString(), cookie: cookie(jwt, STATE_TTL_SECONDS) };
    },
    async complete(keys, params, stateCookie) {
      const error = params.get('error');
      if (error !== null) {
        throw new OidcRefused(`the provider answered: ${error.slice(0, 100)}`);
      }
      const code = params.get('code') ?? '';
      const state = params.get('state') ?? '';
      if (!code || code.length > 2048 || !state || state.length > 256) {
        throw new OidcRefused('the provider’s answer is incomplete; start again');
      }
      if (!stateCookie || stateCookie.length > 2048) {
        throw new OidcRefused(
          'this sign-in was not started in this browser, or took over 10 minutes; start again',
        );
      }
      let saved: z.infer<typeof STATE>;
      try {
        const { payload } = await jwtVerify(stateCookie, keys.oidc, {
          audience: STATE_AUDIENCE,
          algorithms: ['HS256'],
        });
        saved = STATE.parse(payload);
      } catch {
        throw new OidcRefused('this sign-in has expired or was tampered with; start again');
      }
      if (saved.state !== state) {
        throw new OidcRefused('this answer belongs to another sign-in; start again');
      }
      const idToken = await exchange(code, saved.verifier);
      return verify(idToken, saved.nonce);
    },
    clearStateCookie: () => cookie('', 0),
  };
}

function whyRefused(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'it has expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'aud') return 'it was issued for another client (audience)';
    if (err.claim === 'iss') return 'it comes from another issuer';
    return `its ${err.claim} claim is not acceptable`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'its signature does not verify';
  if (err instanceof errors.JWKSNoMatchingKey) return 'no published key of the issuer signed it';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'its signature algorithm is not accepted';
  return 'it is malformed';
}

/**
 * The owner an identity signs in as: the one it was linked to before, else the owner with its
 * verified email, else a new owner. Serialised per identity so two first sign-ins link once.
 */
export async function ownerForIdentity(db: Db, id: OidcIdentity): Promise<OwnerRow> {
  return transact(db, async (trx) => {
    await advisoryXactLock(trx, 'oidc-identity', id.issuer, id.subject);
    const linked = await findOidcIdentity(trx, id.issuer, id.subject);
    const owner =
      linked ?? (await findOwnerByEmail(trx, id.email)) ?? (await ensureOwner(trx, id.email)).owner;
    await upsertOidcIdentity(trx, { ...id, ownerId: owner.id });
    return owner;
  });
}
