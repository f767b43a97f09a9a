import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/auth/signing.js';
import { call, useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

async function agent(label: string) {
  const s = await baton.seed({ projectSlug: 'signed', label });
  return { ...s, client: await baton.connect(s.token) };
}

async function keys() {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  return { publicJwk: await exportJWK(publicKey), privateKey };
}

/** What a careful client does: sort the content's keys (RFC 8785) and sign the bytes. */
async function sign(
  content: Record<string, unknown>,
  privateKey: Parameters<CompactSign['sign']>[0],
  kid?: string,
) {
  return new CompactSign(new TextEncoder().encode(canonicalJson(content)))
    .setProtectedHeader({ alg: 'EdDSA', ...(kid ? { kid } : {}) })
    .sign(privateKey);
}

describe('signed posts', () => {
  it('accepts a post signed with the registered key; readers verify it independently', async () => {
    const ana = await agent('ana');
    const bo = await agent('bo');
    const k = await keys();
    const registered = await call(ana.client, 'set_signing_key', { public_jwk: k.publicJwk });
    expect(registered.isError).toBe(false);
    const kid = registered.body.kid as string;
    expect(kid).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const content = {
      to_actor: bo.actor,
      subject: 'release',
      body: 'Tag v1.2 is yours; notes in ñ ✓',
      ref: 'PR #42',
    };
    const signature = await sign(content, k.privateKey, kid);
    const sent = await call(ana.client, 'post', { ...content, signature });
    expect(sent.isError, JSON.stringify(sent.body)).toBe(false);

    const read = await call(bo.client, 'read_posts', { to_me: true });
    const got = (read.body.posts as any[])[0];
    expect(got).toMatchObject({ signature, signing_kid: kid, body: content.body });

    // Independent check: the key comes from the roster, the content from what the reader got.
    const roster = (await call(bo.client, 'list_participants')).body.participants as any[];
    const anaKey = roster.find((p) => p.actor === ana.actor).signing_key;
    expect(anaKey.kid).toBe(kid);
    const { payload, protectedHeader } = await compactVerify(
      got.signature,
      await importJWK(anaKey.jwk, 'EdDSA'),
    );
    expect(protectedHeader.kid).toBe(kid);
    const received = { to_actor: got.to_actor, subject: got.subject, body: got.body, ref: got.ref };
    expect(new TextDecoder().decode(payload)).toBe(canonicalJson(received));
  });

  it('refuses a signature that does not match the content, the key, or a key at all', async () => {
    const cy = await agent('cy');
    const dee = await agent('dee');
    const k = await keys();
    const other = await keys();
    const content = { to_actor: dee.actor, body: 'original text' };

    const noKey = await call(cy.client, 'post', {
      ...content,
      signature: await sign(content, k.privateKey),
    });
    expect(noKey.body.error).toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/set_signing_key/),
    });

    await call(cy.client, 'set_signing_key', { public_jwk: k.publicJwk });
    const tampered = await call(cy.client, 'post', {
      ...content,
      body: 'changed text',
      signature: await sign(content, k.privateKey),
    });
    expect(tampered.body.error).toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/does not sign this post/),
    });
    const wrongKey = await call(cy.client, 'post', {
      ...content,
      signature: await sign(content, other.privateKey),
    });
    expect(wrongKey.body.error).toMatchObject({
      code: 'invalid_argument',
      message: expect.stringMatching(/registered key/),
    });
    const garbage = await call(cy.client, 'post', { ...content, signature: 'a.b.c' });
    expect((garbage.body.error as any).code).toBe('invalid_argument');
    // Nothing was posted by any refused call.
    const inbox = await call(dee.client, 'read_posts', { to_me: true });
    expect(inbox.body.posts).toEqual([]);
  });

  it('refuses keys that are not Ed25519 public JWKs', async () => {
    const eve = await agent('eve');
    const k = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const priv = await exportJWK(k.privateKey);
    for (const jwk of [
      priv,
      { kty: 'RSA', n: 'x', e: 'AQAB' },
      { kty: 'OKP', crv: 'Ed25519', x: 'short' },
      {},
    ]) {
      const r = await call(eve.client, 'set_signing_key', { public_jwk: jwk });
      expect(r.isError, JSON.stringify(jwk)).toBe(true);
      expect((r.body.error as any).code).toBe('invalid_argument');
    }
  });

  it('canonical JSON sorts keys and omits nothing present', () => {
    expect(canonicalJson({ b: 1, a: 'x', c: true })).toBe('{"a":"x","b":1,"c":true}');
    expect(canonicalJson({ z: { y: [2, 1], x: null } })).toBe('{"z":{"x":null,"y":[2,1]}}');
  });
});
