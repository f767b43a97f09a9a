import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { call, callOk, startTestBaton, type TestBaton } from './helpers/baton.js';
import { tcpProxy, type TcpProxy } from './helpers/proxy.js';
import { channelInbox, channelOf, eventually, rawSession, readSse } from './helpers/sse.js';

// Two Baton processes (two servers with their own pools and ledger listeners) on one
// PostgreSQL of this file's own, which the test stops and starts under them. The listener of
// process B reaches the database through a proxy the test can cut, so a post can be made
// while B's listener is certainly away.

let pg: OwnPostgres;
let proxy: TcpProxy;
let a: TestBaton;
let b: TestBaton;

beforeAll(async () => {
  pg = await ownPostgres('baton-push');
  proxy = await tcpProxy({ host: '127.0.0.1', port: pg.port });
  const viaProxy = new URL(pg.url);
  viaProxy.port = String(proxy.port);
  a = await startTestBaton({ database: { url: pg.url } });
  b = await startTestBaton({ database: { url: pg.url }, listenerUrl: viaProxy.toString() });
});

afterAll(async () => {
  await a?.close();
  await b?.close();
  await proxy?.close();
  await pg?.dispose();
});

describe('push across processes', () => {
  it('a post made on one process reaches a session held by another, and survives a database restart', async () => {
    const sender = await a.seed({ projectSlug: 'two', label: 'sender' });
    const recipient = await a.seed({ projectSlug: 'two', label: 'recipient' });
    const onA = await a.connect(sender.token);
    const onB = await b.connect(recipient.token);
    const inbox = channelInbox(onB);
    await eventually(() => expect(b.streams.count('mcp')).toBe(1), 10_000);
    const post = async (body: string) =>
      String((await callOk(onA, 'post', { to_actor: recipient.actor, body })).post_id);

    const first = await post('made on A, held on B');
    await inbox.next((c) => c.meta.post_id === first);
    const receipts = await callOk(onA, 'read_posts', { sent: true });
    expect((receipts.posts as { receipts: unknown }[])[0]?.receipts).toEqual({
      delivered: [recipient.actor],
      acked: [],
      not_acked: [recipient.actor],
    });

    // PostgreSQL goes away. B's listener is kept from reconnecting until told.
    proxy.block();
    await pg.stop();
    // Meanwhile a tool call is answered as an unavailable result; nothing is posted.
    const refused = await call(onA, 'post', { to_actor: recipient.actor, body: 'lost?' });
    expect(refused.isError).toBe(true);
    expect(refused.body.error).toMatchObject({ code: 'unavailable' });

    await pg.start();
    // The database is back for A's pool at once; B's listener is still away.
    const during: string[] = [];
    await eventually(async () => {
      const r = await call(onA, 'post', { to_actor: recipient.actor, body: 'during the outage' });
      expect(r.isError, JSON.stringify(r.body)).toBe(false);
      during.push(String(r.body.post_id));
    }, 20_000);
    during.push(await post('also during the outage'));
    expect(b.listener.connected).toBe(false);
    expect(b.listener.hearing).toBe(false);

    // Meanwhile B's streams poll the ledger: the posts reach B's session late rather than never.
    for (const id of during) await inbox.next((c) => c.meta.post_id === id, 20_000);

    // B's listener reconnects, proves it hears again, and pushes at once.
    proxy.unblock();
    await eventually(() => expect(b.listener.hearing).toBe(true), 20_000);
    expect(b.listener.connected).toBe(true);
    const live = await post('after the restart');
    await inbox.next((c) => c.meta.post_id === live);
    // Each post exactly once, in order; the refused one never existed.
    await callOk(onA, 'whoami');
    expect(inbox.received.map((c) => c.meta.post_id)).toEqual([first, ...during, live]);
  });

  it('a client that reconnects to the other process with Last-Event-ID resumes exactly', async () => {
    const sender = await a.seed({ projectSlug: 'hop', label: 'hop-sender' });
    const reader = await a.seed({ projectSlug: 'hop', label: 'hop-reader' });
    const onA = await a.connect(sender.token);
    const session = await rawSession(a.mcpUrl, reader.token);
    const headers = { authorization: `Bearer ${reader.token}`, 'mcp-session-id': session };
    const post = async (body: string) =>
      String((await callOk(onA, 'post', { to_actor: reader.actor, body })).post_id);

    const onFirst = await readSse(a.mcpUrl, headers);
    await eventually(() => expect(onFirst.lastId()).toBeDefined());
    const one = await post('one');
    await onFirst.waitFor(1);
    // Process A shuts its streams (as on shutdown); the client moves to B.
    a.streams.close();
    await onFirst.ended;
    const missed = [await post('two'), await post('three')];
    const onSecond = await readSse(b.mcpUrl, {
      ...headers,
      'last-event-id': onFirst.lastId() as string,
    });
    const later = [...missed, await post('four')];
    const got = await onSecond.waitFor(3);
    await callOk(onA, 'whoami');
    expect(onFirst.events.map((e) => channelOf(e).meta.post_id)).toEqual([one]);
    expect(got.map((e) => channelOf(e).meta.post_id)).toEqual(later);
    expect(onSecond.events).toHaveLength(3);
    onSecond.close();
  });
});
