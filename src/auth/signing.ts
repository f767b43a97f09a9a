import { calculateJwkThumbprint, compactVerify, importJWK, type JWK } from 'jose';
import { invalid } from '../errors.js';

// Signed posts (spec §7 Signing). A participant registers an Ed25519 public key (a JWK); a post
// may carry a compact JWS (EdDSA) whose payload is the RFC 8785 canonical JSON of the post's
// content fields. The server checks the signature against the registered key and keeps it, so
// readers can check it again without trusting the server.

export const CONTENT_FIELDS = [
  'to_actor',
  'to_lane',
  'broadcast',
  'subject',
  'body',
  'ref',
  'tag',
  'reply_to',
  'action',
  'data',
] as const;

/**
 * RFC 8785 (JCS) canonical JSON for the values posts carry (strings, booleans, integers, plain
 * objects and arrays): object keys sorted by UTF-16 code units, no whitespace, and ECMAScript
 * string and number serialisation, which is exactly JSON.stringify's.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** The signed content of a post: its content fields as given, absent ones omitted. */
export function postContent(
  args: Partial<Record<(typeof CONTENT_FIELDS)[number], unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of CONTENT_FIELDS) if (args[f] !== undefined) out[f] = args[f];
  return out;
}

export interface SigningKey {
  jwk: { kty: 'OKP'; crv: 'Ed25519'; x: string };
  kid: string;
}

/** Accepts an Ed25519 public JWK; keeps only its public members; its id is the RFC 7638 thumbprint. */
export async function signingKeyFrom(input: Record<string, unknown>): Promise<SigningKey> {
  if (input.kty !== 'OKP' || input.crv !== 'Ed25519' || typeof input.x !== 'string') {
    throw invalid(
      'public_jwk: an Ed25519 public key as a JWK: {"kty":"OKP","crv":"Ed25519","x":"…"}',
    );
  }
  if ('d' in input)
    throw invalid('public_jwk: that is a private key (it has "d"); send only the public part');
  const jwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: input.x };
  try {
    await importJWK(jwk, 'EdDSA');
  } catch {
    throw invalid('public_jwk: x is not a valid Ed25519 public key (32 bytes, base64url)');
  }
  if (Buffer.from(jwk.x, 'base64url').length !== 32) {
    throw invalid('public_jwk: x is not a valid Ed25519 public key (32 bytes, base64url)');
  }
  return { jwk, kid: await calculateJwkThumbprint(jwk as JWK, 'sha256') };
}

/** Throws invalid_argument unless `jws` is the sender's EdDSA signature over exactly this content. */
export async function verifyPostSignature(
  jws: string,
  key: SigningKey | undefined,
  content: Record<string, unknown>,
) {
  if (!key)
    throw invalid('signature: register your public key with set_signing_key before signing posts');
  let payload: Uint8Array;
  try {
    const publicKey = await importJWK(key.jwk, 'EdDSA');
    ({ payload } = await compactVerify(jws, publicKey, { algorithms: ['EdDSA', 'Ed25519'] }));
  } catch {
    throw invalid(
      'signature: not a valid EdDSA signature by your registered key (see set_signing_key)',
    );
  }
  if (Buffer.from(payload).toString('utf8') !== canonicalJson(content)) {
    throw invalid(
      `signature: it does not sign this post's content; sign the RFC 8785 canonical JSON of ${CONTENT_FIELDS.join(', ')} as sent`,
    );
  }
}
