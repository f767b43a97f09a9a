import { describe, expect, it } from 'vitest';
import { call, callErr, callOk, useTestBaton } from './helpers/baton.js';

// Inputs at and beyond every limit of the handoff tools: each refusal is invalid_argument or
// not_found with a message that says what to fix, never internal.

const baton = useTestBaton();

let projects = 0;
function project() {
  const slug = `limits-${++projects}`;
  return async (label: string, lane?: string) => {
    const seeded = await baton.seed({ projectSlug: slug, label });
    const client = await baton.connect(seeded.token);
    if (lane) await callOk(client, 'register', { lane });
    return { client, actor: seeded.actor, token: seeded.token };
  };
}

describe('limits', () => {
  it('refuses bad post input with invalid_argument or not_found saying what to fix', async () => {
    const join = project();
    const ana = await join('ana', 'api');
    const bo = await join('bo');
    const to = { to_actor: bo.actor };
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [{ ...to, body: '' }, 'invalid_argument', /body: must not be empty/],
      [{ ...to, body: '   \n' }, 'invalid_argument', /body: must not be blank/],
      [{ ...to, body: 'x'.repeat(16_001) }, 'invalid_argument', /body: must be at most 16000/],
      [{ ...to, body: 'a\u0000b' }, 'invalid_argument', /body: must not contain NUL/],
      [{ ...to, body: 'ok', subject: 'a\u0000b' }, 'invalid_argument', /subject: must be one line/],
      [{ ...to, body: 'ok', ref: 'x'.repeat(501) }, 'invalid_argument', /ref: must be at most 500/],
      [{ ...to, body: 'ok', tag: '' }, 'invalid_argument', /tag: must not be empty/],
      [{ body: 'ok' }, 'invalid_argument', /exactly one of to_actor, to_lane or broadcast/],
      [{ ...to, to_lane: 'api', body: 'ok' }, 'invalid_argument', /exactly one of/],
      [{ broadcast: false, body: 'ok' }, 'invalid_argument', /exactly one of/],
      [{ to_actor: 'bo', body: 'ok' }, 'invalid_argument', /to_actor: an actor is handle\/label/],
      [{ to_lane: 'API!', body: 'ok' }, 'invalid_argument', /to_lane: a lane is 1–64/],
      [{ ...to, body: 'ok', reply_to: 0 }, 'invalid_argument', /reply_to/],
      [{ ...to, body: 'ok', reply_to: 1.5 }, 'invalid_argument', /reply_to/],
      [
        { ...to, body: 'ok', idempotency_key: 'k'.repeat(129) },
        'invalid_argument',
        /idempotency_key/,
      ],
      [{ ...to, body: 'ok', colour: 'red' }, 'invalid_argument', /colour: unknown argument/],
      [
        { to_actor: 'owner/nobody', body: 'ok' },
        'not_found',
        /to_actor: owner\/nobody is not a participant in this project; known: (owner\/ana, owner\/bo|owner\/bo, owner\/ana)$/,
      ],
      [
        { to_lane: 'apl', body: 'ok' },
        'not_found',
        /to_lane: nobody has ever been in lane "apl"; known lanes: api/,
      ],
      [{ ...to, body: 'ok', reply_to: 999_999 }, 'not_found', /reply_to: no post 999999/],
    ];
    for (const [args, code, message] of cases) {
      const error = await callErr(ana.client, 'post', args);
      expect({ args, code: error.code }).toEqual({ args, code });
      expect(error.message).toMatch(message);
    }
    // Exactly at the limit is fine.
    const r = await callOk(ana.client, 'post', { ...to, body: 'x'.repeat(16_000) });
    expect(r.recipients).toEqual([bo.actor]);
    // Text PostgreSQL would choke on is refused or stored, never an internal error.
    const odd = await call(ana.client, 'post', { ...to, body: 'lone \ud800 surrogate' });
    expect(odd.isError ? (odd.body.error as { code: string }).code : 'ok').not.toBe('internal');
  });

  it('refuses bad read_posts and ack input', async () => {
    const join = project();
    const ana = await join('ana');
    const readCases: [Record<string, unknown>, string, RegExp][] = [
      [{ limit: 0 }, 'invalid_argument', /limit/],
      [{ limit: 101 }, 'invalid_argument', /limit/],
      [{ cursor: 'not-a-cursor' }, 'invalid_argument', /cursor: not a next_cursor from read_posts/],
      [{ to_lane: 'nowhere' }, 'not_found', /nobody has ever been in lane "nowhere"; no lanes yet/],
      [{ thread: 424242 }, 'not_found', /thread: no post 424242/],
      [{ from_actor: 'a\u0000/b' }, 'invalid_argument', /from_actor/],
    ];
    for (const [args, code, message] of readCases) {
      const error = await callErr(ana.client, 'read_posts', args);
      expect({ args, code: error.code }).toEqual({ args, code });
      expect(error.message).toMatch(message);
    }
    const ackCases: [Record<string, unknown>, RegExp][] = [
      [{}, /exactly one of post_id or post_ids/],
      [{ post_id: 1, post_ids: [2] }, /exactly one of post_id or post_ids/],
      [{ post_ids: [] }, /post_ids/],
      [{ post_ids: Array.from({ length: 101 }, (_, i) => i + 1) }, /post_ids/],
      [{ post_id: '7' }, /post_id/],
    ];
    for (const [args, message] of ackCases) {
      const error = await callErr(ana.client, 'ack', args);
      expect(error.code).toBe('invalid_argument');
      expect(error.message).toMatch(message);
    }
  });

  it('maps the same errors to HTTP statuses on /api/v1/tools', async () => {
    const ana = await baton.seed({ projectSlug: 'handoffs-api', label: 'ana' });
    const post = (body: unknown) =>
      fetch(`${baton.baseUrl}/api/v1/tools/post`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ana.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const empty = await post({ to_actor: ana.actor, body: '' });
    expect(empty.status).toBe(400);
    expect(((await empty.json()) as { error: { code: string } }).error.code).toBe(
      'invalid_argument',
    );
    expect((await post({ to_actor: 'owner/ghost', body: 'x' })).status).toBe(404);
    const ok = await post({ to_actor: ana.actor, body: 'note to self' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ recipients: [ana.actor] });
  });
});
