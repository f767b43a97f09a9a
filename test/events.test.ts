import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';
import { ledger, makeAgent } from './helpers/agents.js';
import { eventually, readSse, type SseEvent } from './helpers/sse.js';

// GET /api/v1/events: a project's ledger as Server-Sent Events (spec §5).

const baton = useTestBaton();
const eventsUrl = () => `${baton.baseUrl}/api/v1/events`;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const parsed = (e: SseEvent) => JSON.parse(e.data) as Record<string, unknown>;

describe('GET /api/v1/events', () => {
  it("streams the project's ledger live, and never another project's", async () => {
    const ana = await makeAgent(baton, 'ev-live', 'ev-ana');
    const other = await makeAgent(baton, 'ev-other', 'ev-other');
    const stream = await readSse(eventsUrl(), bearer(ana.token));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await eventually(() => expect(stream.lastId()).toBeDefined());

    await other.call('register', { lane: 'secret-lane' });
    await ana.call('register', { lane: 'docs', status: 'writing' });
    await other.call('post', { broadcast: true, body: 'not for ana' });
    await ana.call('claim', { sequence: 'adr' });
    await other.call('claim', { sequence: 'adr' });

    const got = await stream.waitFor(2);
    const mine = await ledger(baton, 'ev-live');
    const expected = mine.slice(-2);
    expect(got.map((e) => [Number(e.id), e.event])).toEqual(
      expected.map((e) => [Number(e.seq), e.type]),
    );
    expect(parsed(got[0] as SseEvent)).toMatchObject({
      seq: Number(expected[0]?.seq),
      type: 'register',
      actor: ana.actor,
      data: { lane: 'docs' },
    });
    expect(parsed(got[1] as SseEvent)).toMatchObject({ type: 'claim', sequence: 'adr' });
    // A round trip on the other project later: still only ana's two events.
    await other.call('whoami');
    await ana.call('whoami');
    expect(stream.events).toHaveLength(2);
    expect(JSON.stringify(stream.events)).not.toMatch(/secret-lane|not for ana|ev-other/);
    stream.close();
  });

  it('starts after ?after=<seq> and resumes from Last-Event-ID, which wins over after', async () => {
    const ana = await makeAgent(baton, 'ev-resume', 'resume-ana');
    for (const lane of ['a', 'b', 'c']) await ana.call('register', { lane });
    const all = await ledger(baton, 'ev-resume');
    const seqs = all.map((e) => Number(e.seq));

    const fromStart = await readSse(`${eventsUrl()}?after=0`, bearer(ana.token));
    expect((await fromStart.waitFor(seqs.length)).map((e) => Number(e.id))).toEqual(seqs);
    fromStart.close();

    const tail = await readSse(`${eventsUrl()}?after=${seqs[1]}`, bearer(ana.token));
    expect((await tail.waitFor(seqs.length - 2)).map((e) => Number(e.id))).toEqual(seqs.slice(2));
    tail.close();

    // Disconnect, miss two events, reconnect to the same URL with Last-Event-ID.
    const last = tail.lastId() as string;
    await ana.call('register', { lane: 'd' });
    await ana.call('register', { lane: 'e' });
    const resumed = await readSse(`${eventsUrl()}?after=0`, {
      ...bearer(ana.token),
      'last-event-id': last,
    });
    const missed = await resumed.waitFor(2);
    await ana.call('register', { lane: 'f' });
    const three = await resumed.waitFor(3);
    expect(missed.map((e) => (parsed(e).data as { lane: string }).lane)).toEqual(['d', 'e']);
    expect(three.map((e) => Number(e.id))).toEqual([1, 2, 3].map((k) => Number(last) + k));
    await ana.call('whoami');
    expect(resumed.events).toHaveLength(3);
    resumed.close();
  });

  it('refuses bad requests with JSON errors', async () => {
    const { token } = await baton.seed({ projectSlug: 'ev-refuse', label: 'ev-refuse' });
    const none = await fetch(eventsUrl());
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer resource_metadata=/);
    const bad = await fetch(`${eventsUrl()}?after=-1`, { headers: bearer(token) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'invalid_argument' } });
    const badId = await fetch(eventsUrl(), { headers: { ...bearer(token), 'last-event-id': 'x' } });
    expect(badId.status).toBe(400);
    const post = await fetch(eventsUrl(), { method: 'POST', headers: bearer(token) });
    expect(post.status).toBe(400);
    expect(post.headers.get('allow')).toBe('GET');
  });
});
