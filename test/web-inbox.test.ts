import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { postItem, type PostView } from '../src/admin/inbox-view.js';
import { html } from '../src/admin/html.js';
import { LIVE_STREAMS_PER_SESSION } from '../src/admin/live.js';
import { callApi, projectId, type Body } from './helpers/agents.js';
import { useTestBaton } from './helpers/baton.js';
import { eventually, readSse } from './helpers/sse.js';
import { signIn, visibleText, type WebClient } from './helpers/web.js';

// The owner's inbox over plain HTTP (issue 20 done-when 2): the owner takes part as a human
// participant of their own, created on first use; lane posts and broadcasts reach them when they
// are in that lane or project; their own posts show receipts as recipients read and ack; every
// act is the tool's act with the human's actor in the ledger.

const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

async function events(project: string, type: string) {
  const { rows } = await sql<{ actor: string; data: Body; post_id: string | null }>`
    select actor, data, post_id from events where project_id = ${project} and type = ${type}
    order by seq`.execute(baton.storage.db);
  return rows;
}

/** An owner with a project holding one agent, signed in. */
async function setUp(name: string) {
  const email = `${name}@example.test`;
  const agent = await baton.seed({ email, projectSlug: name, label: 'agent' });
  const web = await signIn(baton, email);
  const id = await projectId(baton, name, email);
  const api = (tool: string, args: Record<string, unknown> = {}) =>
    callApi(baton, agent.token, tool, args);
  return { email, agent, web, id, api, inbox: `/admin/projects/${id}/inbox` };
}

/** The recipients of a sent post on the page, and where each stands. */
function receiptsOn(page: string, postId: number): Record<string, string> {
  const item = new RegExp(
    `<li class="msg[^"]*" data-post="${postId}">([\\s\\S]*?)</li>\\s*</ol>|<li class="msg[^"]*" data-post="${postId}">([\\s\\S]*?)<li class="msg`,
  ).exec(page);
  const block = item?.[1] ?? item?.[2] ?? '';
  return Object.fromEntries(
    [...block.matchAll(/data-recipient="([^"]+)" data-state="([^"]+)"/g)].map((m) => [m[1], m[2]]),
  );
}

async function sentPost(web: WebClient, inbox: string, fields: Record<string, string>) {
  await web.get(inbox);
  const r = await web.post(`${inbox}/post`, fields);
  expect(r.status, r.text.slice(0, 2000)).toBe(303);
  return r;
}

describe('the owner in their inbox', () => {
  it('takes part as a human participant of their own, granted on first use, once', async () => {
    const { web, id, inbox, api } = await setUp('ines');
    const pages = await Promise.all(Array.from({ length: 8 }, () => web.get(inbox)));
    for (const p of pages) expect(p.status).toBe(200);
    expect(visibleText(pages[0]?.text ?? '')).toContain('You take part as ines/ines human');
    const provisioned = await events(id, 'participant_provisioned');
    expect(provisioned.filter((e) => e.data.participant === 'ines/ines')).toEqual([
      expect.objectContaining({
        actor: 'ines',
        data: expect.objectContaining({ kind: 'human', via: 'web', is_admin: true }),
      }),
    ]);
    const roster = (await api('list_participants')).body.participants as Body[];
    // Opening the inbox is being present: the self is seen (its liveness, no token in use).
    expect(roster.find((p) => p.actor === 'ines/ines')).toMatchObject({
      kind: 'human',
      active: true,
    });
    // Its token is never shown: the page acts through the session.
    expect(pages[0]?.text).not.toMatch(/baton_[\w-]{43}/);

    // Renamed on the participants page, it is still the owner's self.
    const { rows } = await sql<{ id: string }>`
      select id from participants where label = 'ines' and owner_self`.execute(baton.storage.db);
    const self = rows[0]?.id as string;
    await web.get(`/admin/participants/${self}`);
    expect(
      (await web.post(`/admin/participants/${self}/rename`, { label: 'ines-in-person' })).status,
    ).toBe(303);
    expect(visibleText((await web.get(inbox)).text)).toContain(
      'You take part as ines/ines-in-person',
    );
  });

  it('is named apart from an agent that already has the name', async () => {
    const email = 'jo@example.test';
    await baton.seed({ email, projectSlug: 'jo', label: 'jo' });
    const web = await signIn(baton, email);
    const page = await web.get(`/admin/projects/${await projectId(baton, 'jo', email)}/inbox`);
    expect(visibleText(page.text)).toContain('You take part as jo/jo-human');
  });

  it('receives lane posts and broadcasts when in that lane or project, and records delivery', async () => {
    const { email, web, id, inbox, api } = await setUp('lena');
    const other = await baton.seed({ email, projectSlug: 'lena', label: 'db' });
    await api('register', { lane: 'api' });
    await callApi(baton, other.token, 'register', { lane: 'db' });
    await web.get(inbox);
    const lane = await web.post(`${inbox}/lane`, { lane: 'api', status: 'reviewing' });
    expect(lane.status).toBe(303);
    expect((await web.follow(lane)).text).toContain('Lane set');
    expect((await events(id, 'register')).at(-1)).toMatchObject({
      actor: 'lena/lena',
      data: { lane: 'api', status: 'reviewing' },
    });

    const sent = {
      lane: (await api('post', { to_lane: 'api', subject: 'API lane note', body: 'for api' })).body,
      elsewhere: (await api('post', { to_lane: 'db', subject: 'DB lane note', body: 'for db' }))
        .body,
      everyone: (await api('post', { broadcast: true, subject: 'To all', body: 'hello all' })).body,
      direct: (await api('post', { to_actor: 'lena/lena', subject: 'Just you', body: 'hi' })).body,
    };
    expect(sent.lane.recipients).toEqual(['lena/lena']);
    expect(sent.everyone.recipients).toEqual(['lena/db', 'lena/lena']);

    const page = await web.get(inbox);
    const text = visibleText(page.text);
    for (const subject of ['API lane note', 'To all', 'Just you']) expect(text).toContain(subject);
    expect(text).not.toContain('DB lane note');
    expect(text).toContain('3 waiting for your acknowledgement');
    // Newest first.
    const order = ['Just you', 'To all', 'API lane note'].map((s) => text.indexOf(s));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(page.text).toMatch(/class="badge unread"[^>]*>3</);

    // Opening the inbox delivered them, as read_posts would have.
    const mine = (await api('read_posts', { sent: true })).body.posts as Body[];
    for (const p of mine.filter((p) => p.post_id !== sent.elsewhere.post_id)) {
      expect(p.receipts.delivered, p.subject).toContain('lena/lena');
      expect(p.receipts.acked, p.subject).not.toContain('lena/lena');
    }
    // The unread count shows on the project's other pages too.
    expect((await web.get(`/admin/projects/${id}/board`)).text).toMatch(
      /class="badge unread"[^>]*>3</,
    );

    // Acknowledge one, then all that are shown; each is the human's ack in the ledger.
    const one = await web.post(`${inbox}/ack`, { post_ids: String(sent.direct.post_id) });
    expect(one.status).toBe(303);
    const after = await web.follow(one);
    expect(visibleText(after.text)).toContain('2 waiting for your acknowledgement');
    const all =
      /name="post_ids" value="([\d,]+)"[^>]*\/><button type="submit" class="primary">/.exec(
        after.text,
      )?.[1];
    expect(all?.split(',').map(Number).sort()).toEqual(
      [sent.lane.post_id, sent.everyone.post_id].sort(),
    );
    expect((await web.post(`${inbox}/ack`, { post_ids: all as string })).status).toBe(303);
    const done = await web.get(inbox);
    expect(visibleText(done.text)).toContain('All caught up.');
    expect(done.text).not.toMatch(/class="badge unread"/);
    const acks = await events(id, 'ack');
    expect(acks.map((e) => e.actor)).toEqual(['lena/lena', 'lena/lena', 'lena/lena']);
    // Compose to a lane reaches those in it.
    await sentPost(web, inbox, { to: 'lane:db', subject: 'For the db lane', body: 'indexes?' });
    const toLane = (await callApi(baton, other.token, 'read_posts', { to_me: true })).body.posts;
    expect(toLane[0]).toMatchObject({
      from: 'lena/lena',
      to_lane: 'db',
      subject: 'For the db lane',
    });
    const receipts = (await api('read_posts', { sent: true })).body.posts as Body[];
    expect(receipts.find((p) => p.post_id === sent.everyone.post_id)?.receipts.acked).toEqual([
      'lena/lena',
    ]);
  });

  it('lists on older pages the posts still waiting for an ack', async () => {
    const { web, inbox, api } = await setUp('olga');
    await web.get(inbox); // the self exists from here on
    for (let i = 1; i <= 25; i++) {
      await api('post', { to_actor: 'olga/olga', subject: `Note ${i}.`, body: `note ${i}` });
    }
    const first = await web.get(inbox);
    expect(visibleText(first.text)).toContain('25 waiting for your acknowledgement');
    const older = /href="([^"]*\?older=[^"]*)"/.exec(first.text)?.[1];
    expect(older).toBeDefined();
    const page = visibleText((await web.get((older as string).replace(/&amp;/g, '&'))).text);
    // The 20 newest fill the first page; the five before them, unacked too, are here.
    for (let i = 1; i <= 5; i++) expect(page).toContain(`Note ${i}.`);
    expect(page).not.toContain('Note 6.');
  });

  it("shows its own posts' receipts: not yet, delivered, acked", async () => {
    const { email, web, id, inbox, agent } = await setUp('mo');
    const second = await baton.seed({ email, projectSlug: 'mo', label: 'second' });
    await sentPost(web, inbox, { to: 'everyone', subject: 'Standup', body: 'What are you on?' });
    const [post] = await events(id, 'post');
    expect(post).toMatchObject({ actor: 'mo/mo', data: { broadcast: true, subject: 'Standup' } });
    const postId = Number(post?.post_id);
    expect(receiptsOn((await web.get(inbox)).text, postId)).toEqual({
      'mo/agent': 'not yet',
      'mo/second': 'not yet',
    });

    const read = await callApi(baton, agent.token, 'read_posts', { to_me: true });
    expect(read.body.posts[0]).toMatchObject({
      post_id: postId,
      from: 'mo/mo',
      body: 'What are you on?',
    });
    expect(receiptsOn((await web.get(inbox)).text, postId)).toEqual({
      'mo/agent': 'delivered',
      'mo/second': 'not yet',
    });
    await callApi(baton, agent.token, 'ack', { post_id: postId });
    await callApi(baton, second.token, 'read_posts', { to_me: true });
    expect(receiptsOn((await web.get(inbox)).text, postId)).toEqual({
      'mo/agent': 'acked',
      'mo/second': 'delivered',
    });
  });

  it('replies in a thread and shows the thread as a conversation', async () => {
    const { web, id, inbox, api } = await setUp('noor');
    await web.get(inbox);
    const question = (
      await api('post', {
        to_actor: 'noor/noor',
        subject: 'Which DB?',
        body: 'Postgres or SQLite?',
      })
    ).body;
    const page = await web.get(inbox);
    const reply = /href="([^"]*\?reply=\d+[^"]*)#compose"/
      .exec(page.text)?.[1]
      ?.replace(/&amp;/g, '&');
    expect(reply).toContain(`reply=${question.post_id}`);
    const form = await web.get(reply as string);
    expect(visibleText(form.text)).toContain(`Reply to #${question.post_id}`);
    expect(form.text).toMatch(/<option value="actor:noor\/agent"\s+selected>/);
    await sentPost(web, inbox, {
      to: 'actor:noor/agent',
      reply_to: String(question.post_id),
      body: 'Postgres, always.',
      ref: 'ADR-0001',
      tag: 'decision',
    });
    const answer = (await api('read_posts', { to_me: true })).body.posts[0] as Body;
    expect(answer).toMatchObject({
      from: 'noor/noor',
      reply_to: question.post_id,
      thread: question.post_id,
      ref: 'ADR-0001',
      tag: 'decision',
    });
    const thread = await web.get(`${inbox}?thread=${question.post_id}`);
    const text = visibleText(thread.text);
    expect(text.indexOf('Postgres or SQLite?')).toBeLessThan(text.indexOf('Postgres, always.'));
    expect(text).toContain('ADR-0001');
    // Its form answers the thread's latest post, to whoever is on the other side of it.
    expect(text).toContain(`Reply to #${answer.post_id}`);
    expect(thread.text).toMatch(/<option value="actor:noor\/agent"\s+selected>/);
    expect(thread.text).toMatch(new RegExp(`name="thread" value="${question.post_id}"`));
    expect((await events(id, 'post')).map((e) => e.actor)).toEqual(['noor/agent', 'noor/noor']);
  });

  it('says what is wrong with a refused form and keeps what was typed', async () => {
    const { web, inbox, api } = await setUp('olga');
    await web.get(inbox);
    const unknown = await web.post(`${inbox}/post`, { to: 'actor:olga/nobody', body: 'keep me' });
    expect(unknown.status).toBe(400);
    expect(visibleText(unknown.text)).toContain('olga/nobody is not a participant in this project');
    expect(unknown.text).toContain('>keep me</textarea>');
    const empty = await web.post(`${inbox}/post`, { to: 'everyone', body: '' });
    expect(empty.status).toBe(400);
    expect(visibleText(empty.text)).toContain('body');
    expect((await web.post(`${inbox}/post`, { to: 'somewhere', body: 'x' })).status).toBe(400);
    // Only a recipient acks: the agent's own post is not the owner's to ack.
    const theirs = (await api('post', { broadcast: true, body: 'mine' })).body;
    const own = (await api('post', { to_actor: 'olga/agent', body: 'to myself' })).body;
    expect(theirs.recipients).toContain('olga/olga');
    const foreign = await web.post(`${inbox}/ack`, { post_ids: String(own.post_id) });
    expect(foreign.status).toBe(403);
    expect(visibleText(foreign.text)).toContain('only its recipients can ack it');
    expect((await web.post(`${inbox}/ack`, { post_ids: '1,x' })).status).toBe(400);
    const tooMany = Array.from({ length: 101 }, (_, i) => i + 1).join(',');
    expect(visibleText((await web.post(`${inbox}/ack`, { post_ids: tooMany })).text)).toContain(
      'at most 100',
    );
    // A post sent twice from one form (a double click) is one post.
    await web.get(inbox);
    const key = /name="idempotency_key" value="([^"]+)"/.exec((await web.get(inbox)).text)?.[1];
    for (let i = 0; i < 2; i++) {
      await web.post(`${inbox}/post`, {
        to: 'everyone',
        body: 'once',
        idempotency_key: key as string,
      });
    }
    const once = ((await api('read_posts', { to_me: true })).body.posts as Body[]).filter(
      (p) => p.body === 'once',
    );
    expect(once).toHaveLength(1);
  });

  it('offers search over the project, as the board does', async () => {
    const { web, inbox, api } = await setUp('pia');
    await api('post', { broadcast: true, subject: 'Quokka sighting', body: 'near the harbour' });
    const found = await web.get(`${inbox}?query=quokka`);
    expect(found.status).toBe(200);
    expect(found.text).toMatch(
      /<form class="row" method="get" action="\/admin\/projects\/\d+\/inbox" role="search">/,
    );
    expect(found.text).toContain('<mark>Quokka</mark>');
    expect(found.text).toMatch(/href="\/admin\/projects\/\d+\/inbox\?thread=\d+"/);
  });

  it('streams its sections, changed ones only, as posts arrive', async () => {
    const { web, inbox, api } = await setUp('quin');
    await web.get(inbox);
    const stream = await readSse(`${baton.baseUrl}${inbox}/events`, {
      cookie: `baton_admin=${web.cookies.get('baton_admin')}`,
    });
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const next = async () =>
      JSON.parse((await stream.next('inbox')).data) as { sections: Record<string, string> };
    expect(Object.keys((await next()).sections).sort()).toEqual(['posts', 'sent', 'unread']);
    await api('post', { to_actor: 'quin/quin', subject: 'Live one', body: '<b>now</b>' });
    const update = await next();
    expect(update.sections.posts).toContain('Live one');
    expect(update.sections.posts).toContain('&lt;b&gt;now&lt;/b&gt;');
    expect(update.sections.unread).toContain('>1<');
    expect(update.sections.sent).toBeUndefined();
    stream.close();
  });
});

describe('live pages', () => {
  it(`hold at most ${LIVE_STREAMS_PER_SESSION} streams per sign-in, and free them when closed`, async () => {
    const { web, id, inbox } = await setUp('rafa');
    await web.get(inbox);
    const controllers: AbortController[] = [];
    const open = (path: string) => {
      const controller = new AbortController();
      controllers.push(controller);
      return fetch(`${baton.baseUrl}${path}`, {
        headers: { cookie: `baton_admin=${web.cookies.get('baton_admin')}` },
        signal: controller.signal,
      });
    };
    const streams = await Promise.all(
      Array.from({ length: LIVE_STREAMS_PER_SESSION }, (_, i) =>
        open(i % 2 ? `${inbox}/events` : `/admin/projects/${id}/board/events`),
      ),
    );
    expect(streams.map((s) => s.status)).toEqual(streams.map(() => 200));
    const refused = await open(`${inbox}/events`);
    expect(refused.status).toBe(429);
    expect(await refused.text()).toContain(`at most ${LIVE_STREAMS_PER_SESSION} live pages`);
    for (const c of controllers) c.abort();
    await eventually(async () => {
      const again = await open(`${inbox}/events`);
      expect(again.status).toBe(200);
    });
    for (const c of controllers) c.abort();
  });
});

describe('a post as the page shows it', () => {
  const opts = { base: '/inbox', me: 'ana/ana', csrf: html``, now: Date.now() };
  const post: PostView = {
    post_id: 7,
    from: 'ana/agent',
    to_actor: 'ana/ana',
    body: 'Please review',
    at: new Date().toISOString(),
    delivered: new Date().toISOString(),
    acked: null,
  };

  it('flags an action and shows JSON data when read_posts carries them, and not otherwise', () => {
    const plain = postItem(post, opts).text;
    expect(plain).not.toContain('badge action');
    expect(plain).not.toContain('msg-data');
    const flagged = postItem(
      { ...post, action: 'review', data: { pr: 12, risky: '<x>' } },
      opts,
    ).text;
    expect(flagged).toMatch(/<span class="badge action"[^>]*>review<\/span>/);
    expect(flagged).toContain('&quot;risky&quot;: &quot;&lt;x&gt;&quot;');
  });
});
