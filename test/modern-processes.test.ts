import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { openStorage, type Storage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { createTestDatabase, type TestDatabase } from './helpers/db.js';
import {
  callModern,
  closeModernClients,
  connectModern,
  resourceUpdates,
} from './helpers/modern.js';
import { serveProcess, stopServeProcesses, type ServeProcess } from './helpers/process.js';

// The modern era is stateless: any request may land on any process. Three real Baton processes
// (the built dist/) on one database; one client spreads its requests over them in turn, and a
// listen stream held by one process hears what is done through the others.

let database: TestDatabase;
let storage: Storage;
const procs: ServeProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  storage = openStorage({ url: database.url, max: 4, log: createLogger('silent') });
  const env = { DATABASE_URL: database.url, DB_POOL_MAX: '5' };
  procs.push(...(await Promise.all([0, 1, 2].map(() => serveProcess(env, { readyMs: 30_000 })))));
}, 90_000);

afterAll(async () => {
  await closeModernClients();
  await stopServeProcesses();
  await storage?.close();
  await database?.drop();
});

const url = (i: number) => `http://127.0.0.1:${(procs[i] as { port: number }).port}/mcp`;

const seed = (project: string, label: string) =>
  seedToken(storage.db, { email: 'eras@example.test', projectSlug: project, label });

/** A fetch that sends each request to the next process in turn, and counts them. */
function roundRobin() {
  const served = [0, 0, 0];
  let next = 0;
  const rr: typeof fetch = (input, init) => {
    const i = next++ % 3;
    served[i] = (served[i] as number) + 1;
    const target = new URL(input instanceof Request ? input.url : String(input));
    target.port = String((procs[i] as { port: number }).port);
    return fetch(target, init);
  };
  return { fetch: rr, served };
}

describe('three processes, one modern client', () => {
  it("spreads one caller's requests round-robin, and every one succeeds", async () => {
    const me = await seed('rr', 'spread');
    const peer = await seed('rr', 'peer');
    const rr = roundRobin();
    const client = await connectModern(url(0), me.token, { fetch: rr.fetch });
    expect(client.getProtocolEra()).toBe('modern');
    const peerClient = await connectModern(url(1), peer.token);
    const numbers: number[] = [];
    for (let i = 0; i < 10; i++) {
      expect((await callModern(client, 'whoami')).body.actor).toBe(me.actor);
      const claimed = await callModern(client, 'claim', { sequence: 'rr' });
      expect(claimed.isError, JSON.stringify(claimed.body)).toBe(false);
      numbers.push(claimed.body.number);
      await callModern(peerClient, 'post', { to_actor: me.actor, body: `note ${i}` });
      const read = await callModern(client, 'read_posts', { to_me: true, limit: 1 });
      expect(read.body.posts[0].body).toBe(`note ${i}`);
    }
    expect((await client.listTools()).tools.length).toBeGreaterThan(10);
    expect((await client.listResources()).resources.length).toBe(3);
    expect(numbers).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    for (const n of rr.served) expect(n).toBeGreaterThanOrEqual(10);
  });
});

describe('a listen stream on process A', () => {
  it('hears posts, broadcasts, lost leases and assignments made through B and C, and nothing of another project', async () => {
    const me = await seed('spread-push', 'listener');
    const peer = await seed('spread-push', 'writer');
    const foreign = await seed('spread-elsewhere', 'listener');
    const stranger = await seed('spread-elsewhere', 'stranger');
    const onA = await connectModern(url(0), me.token);
    const updates = resourceUpdates(onA);
    await onA.listen({
      resourceSubscriptions: ['baton://inbox', 'baton://leases', 'baton://tasks'],
    });
    const peerOnB = await connectModern(url(1), peer.token);
    const strangerOnB = await connectModern(url(1), stranger.token);
    const meOnC = await connectModern(url(2), me.token);

    // Another project first: none of it may reach the stream.
    await callModern(strangerOnB, 'post', { to_actor: foreign.actor, body: 'elsewhere' });
    await callModern(strangerOnB, 'post', { broadcast: true, body: 'elsewhere, to all' });

    const sent = await callModern(peerOnB, 'post', { to_actor: me.actor, body: 'from B' });
    await updates.next('baton://inbox', 1);
    const read = await meOnC.readResource({ uri: 'baton://inbox' });
    const inbox = JSON.parse((read.contents[0] as { text: string }).text);
    expect(inbox.posts.map((p: { post_id: number }) => p.post_id)).toEqual([sent.body.post_id]);
    const receipts = (await callModern(peerOnB, 'read_posts', { sent: true })).body.posts[0]
      .receipts;
    expect(receipts.delivered).toEqual([me.actor]);

    await callModern(peerOnB, 'post', { broadcast: true, body: 'to all, from B' });
    await updates.next('baton://inbox', 2);

    const held = await callModern(meOnC, 'lease', { surface: 'docs/**', ttl_seconds: 60 });
    await sql`update leases set expires_at = now() - interval '1 second'
              where id = ${held.body.lease_id}
                and project_id = (select id from projects where slug = 'spread-push')`.execute(
      storage.db,
    );
    await callModern(peerOnB, 'lease', { surface: 'docs/guide.md' });
    await updates.next('baton://leases');

    const task = await callModern(peerOnB, 'task_create', { title: 'Index the guide' });
    await callModern(peerOnB, 'task_assign', { task_id: task.body.task.task_id, owner: me.actor });
    await updates.next('baton://tasks');

    expect(updates.uris).toEqual([
      'baton://inbox',
      'baton://inbox',
      'baton://leases',
      'baton://tasks',
    ]);
  });
});
