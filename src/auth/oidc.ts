import { jwtVerify, SignJWT } from 'jose';
import * as oidc from 'openid-client';
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

// Owner sign-in through any OpenID Connect provider. The protocol is openid-client's: discovery,
// the authorization code flow with PKCE (S256), the code exchange and every id_token check
// (issuer, audience, authorized party, expiry, nonce, and the signature against the issuer's
// published keys). Baton keeps what is its own: state, nonce and the PKCE verifier travel in a
// short-lived signed cookie scoped to the callback, so any process can finish a sign-in another
// one began; an identity is its issuer and subject; the provider's verified email links it to an
// owner the first time.

export const OIDC_STATE_COOKIE = 'baton_oidc';
const STATE_PATH = '/admin/login/oidc';
const STATE_TTL_SECONDS = 600;
const STATE_AUDIENCE = 'baton:oidc-state';
const DISCOVERY_TTL_MS = 3600_000;
const HTTP_TIMEOUT_SECONDS = 5;

/** A refusal whose message is safe and useful to show the person signing in. */
export class OidcRefused extends Error {}

const STATE = z.object({ state: z.string(), nonce: z.string(), verifier: z.string() });

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
  // openid-client talks only https unless told otherwise (allowInsecureRequests, marked
  // deprecated upstream to make it stand out). config.ts admits a plain-http issuer only on the
  // loopback interface (a provider on the same machine, as in the tests), so only such an issuer
  // lifts the rule, for the endpoints it publishes.
  const execute = new URL(settings.issuer).protocol === 'http:' ? [oidc.allowInsecureRequests] : [];
  let cached: { config: Promise<oidc.Configuration>; at: number } | undefined;

  function discover(): Promise<oidc.Configuration> {
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.config;
    const pending = oidc
      .discovery(new URL(settings.issuer), settings.clientId, undefined, clientAuth(settings), {
        execute,
        timeout: HTTP_TIMEOUT_SECONDS,
      })
      .then((found) => {
        // Signatures are checked on the token endpoint's id_token too (by default openid-client
        // trusts the TLS channel there), against the issuer's published asymmetric keys only.
        oidc.enableNonRepudiationChecks(found);
        return found;
      })
      .catch((err: unknown) => {
        if (cached?.config === pending) cached = undefined;
        throw discoveryFailure(err);
      });
    cached = { config: pending, at: Date.now() };
    return pending;
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
      const provider = await discover();
      const state = oidc.randomState();
      const nonce = oidc.randomNonce();
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(provider, {
        redirect_uri: redirectUri,
        scope: 'openid email',
        state,
        nonce,
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });
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
      const provider = await discover();
      // The answer as the provider sent it, at the redirect URI the exchange must repeat.
      const answer = new URL(redirectUri);
      for (const [k, v] of params) answer.searchParams.append(k, v);
      let claims: oidc.IDToken | undefined;
      try {
        const tokens = await oidc.authorizationCodeGrant(provider, answer, {
          pkceCodeVerifier: saved.verifier,
          expectedState: saved.state,
          expectedNonce: saved.nonce,
        });
        claims = tokens.claims();
      } catch (err) {
        throw exchangeFailure(err);
      }
      if (!claims) throw new OidcRefused('the provider did not return an identity token');
      return identityOf(provider.serverMetadata().issuer, claims);
    },
    clearStateCookie: () => cookie('', 0),
  };
}

/** client_secret_basic where the provider offers it (the default when it says nothing), else post. */
function clientAuth(settings: NonNullable<Config['oidc']>): oidc.ClientAuth {
  const basic = oidc.ClientSecretBasic(settings.clientSecret);
  const post = oidc.ClientSecretPost(settings.clientSecret);
  return (as, client, body, headers) => {
    const methods = as.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const auth = methods.includes('client_secret_basic') ? basic : post;
    auth(as, client, body, headers);
  };
}

/** Baton's own requirements of an identity the library has verified. */
function identityOf(issuer: string, claims: oidc.IDToken): OidcIdentity {
  const email = EMAIL.safeParse(claims.email);
  if (!email.success) throw new OidcRefused('the provider did not share an email address');
  if (claims.email_verified !== true && claims.email_verified !== 'true') {
    throw new OidcRefused(
      'the provider has not verified the email address of this account; verify it there first',
    );
  }
  if (claims.sub.length === 0 || claims.sub.length > 255) {
    throw new OidcRefused('the identity token was refused: its subject is unusable');
  }
  return { issuer, subject: claims.sub, email: email.data };
}

// openid-client's error codes (oauth4webapi's constants, which it re-throws under ClientError).
const CODE = {
  claim: 'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  timestamp: 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  keySelection: 'OAUTH_KEY_SELECTION_FAILED',
  invalid: 'OAUTH_INVALID_RESPONSE',
  unsupported: 'OAUTH_UNSUPPORTED_OPERATION',
  parse: 'OAUTH_PARSE_ERROR',
  attribute: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  notJson: 'OAUTH_RESPONSE_IS_NOT_JSON',
  notConform: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
  timeout: 'OAUTH_TIMEOUT',
  abort: 'OAUTH_ABORT',
} as const;

const unreachable = () =>
  new AppError('unavailable', 'the sign-in provider could not be reached; try again shortly');

function discoveryFailure(err: unknown): Error {
  const code = err instanceof oidc.ClientError ? err.code : undefined;
  if (code === CODE.attribute) {
    return new AppError(
      'unavailable',
      'the sign-in provider names another issuer in its configuration; set OIDC_ISSUER to exactly the issuer it names',
    );
  }
  if (code === CODE.invalid || code === CODE.parse || code === CODE.notJson) {
    return new AppError(
      'unavailable',
      'the sign-in provider published no usable configuration at /.well-known/openid-configuration; check OIDC_ISSUER',
    );
  }
  return unreachable();
}

function exchangeFailure(err: unknown): Error {
  // The provider's own OAuth error (a used or unknown code, a refused client) or a reply that is
  // not one: either way it did not exchange this code.
  if (err instanceof oidc.ResponseBodyError || err instanceof oidc.AuthorizationResponseError) {
    return new OidcRefused('the provider did not accept the sign-in code; start again');
  }
  if (!(err instanceof oidc.ClientError)) return unreachable(); // the network (fetch's TypeError)
  switch (err.code) {
    case CODE.timeout:
    case CODE.abort:
      return unreachable();
    case CODE.notConform:
    case CODE.notJson:
      return new OidcRefused('the provider did not accept the sign-in code; start again');
    default:
      return new OidcRefused(`the identity token was refused: ${whyRefused(err)}`);
  }
}

/** The reason an id_token check failed, from the claim or step openid-client names. */
function whyRefused(err: oidc.ClientError): string {
  const inner: unknown = err.cause;
  const detail = inner instanceof Error ? inner : undefined;
  const cause: unknown = detail?.cause;
  const claim =
    typeof cause === 'object' && cause !== null && 'claim' in cause ? cause.claim : undefined;
  switch (err.code) {
    case CODE.timestamp:
      return claim === 'exp' ? 'it has expired' : `its ${String(claim)} time is not acceptable`;
    case CODE.claim:
      if (claim === 'aud') return 'it was issued for another client (audience)';
      if (claim === 'azp') return 'it was issued to another client (authorized party)';
      if (claim === 'iss') return 'it comes from another issuer';
      if (claim === 'nonce') return 'its nonce is not this sign-in’s';
      return `its ${String(claim)} claim is not acceptable`;
    case CODE.keySelection:
      return 'no published key of the issuer signed it';
    case CODE.unsupported:
      return 'its signature algorithm is not accepted';
    case CODE.invalid:
      if (detail && /signature/i.test(detail.message)) return 'its signature does not verify';
      if (detail && /"alg"/.test(detail.message)) return 'its signature algorithm is not accepted';
      return 'it is malformed';
    default:
      return 'it is malformed';
  }
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
