import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { projectId } from './helpers/agents.js';
import { callOk, useTestBaton } from './helpers/baton.js';
import { OUT, useBrowser } from './helpers/browser.js';
import { channelInbox, eventually } from './helpers/sse.js';

// The owner's inbox in a real headless Chromium (issue 20 done-when 1 and 5): a post to an agent
// connected over MCP, its reply arriving in the open page without a reload, the ack the agent
// sees, the ledger with the human's actor; and every page fitting a phone's width. Screenshots
// go to test-output/web/ (docs/ keeps copies of the inbox ones).

const baton = useTestBaton();
const PHONE = { width: 390, height: 844 };
const { openPage, signInAs } = useBrowser(baton);

const projectUrl = async (slug: string) =>
  `${baton.baseUrl}/admin/projects/${await projectId(baton, slug)}`;

describe('the inbox in Chromium', () => {
  it('sends an agent a post, shows its threaded reply live, and acks it; the ledger names the human', async () => {
    const email = 'rua@example.test';
    const seeded = await baton.seed({
      email,
      projectSlug: 'relay',
      label: 'claude-api',
    });
    const agent = await baton.connect(seeded.token);
    const pushes = channelInbox(agent);
    const session = (agent.transport as { sessionId?: string }).sessionId;
    await eventually(() => expect(baton.streams.count('mcp', session)).toBe(1));
    await callOk(agent, 'register', { lane: 'api', status: 'building the checkout' });
    const db = await baton.seed({
      email,
      projectSlug: 'relay',
      label: 'codex-db',
    });
    const dbAgent = await baton.connect(db.token, { push: false });
    await callOk(dbAgent, 'register', { lane: 'db' });

    const { page, problems } = await openPage();
    await signInAs(page, email);
    const project = await projectUrl('relay');
    await page.goto(project);
    await page.getByRole('link', { name: 'Inbox' }).click();
    await page.waitForURL(/\/inbox$/);
    await page.locator('#live.on').waitFor();
    expect(await page.locator('#self-actor').textContent()).toBe('rua/rua');
    await page.locator('#me').getByLabel('Lane').fill('api');
    await page.locator('#me').getByRole('button', { name: 'Set lane' }).click();
    await page.waitForURL(/\/inbox\?done=lane-set$/);
    await callOk(dbAgent, 'post', {
      broadcast: true,
      subject: 'Migration 0042 is in',
      body: 'orders.total_cents is now bigint; rebase before you touch the checkout.',
      ref: 'migrations/0042_total_cents.sql',
      tag: 'schema',
    });

    const compose = page.locator('#compose');
    await compose.getByLabel('To').selectOption('actor:rua/claude-api');
    await compose.getByLabel('Subject').fill('Checkout totals');
    await compose.getByLabel('Message').fill('Totals are off by one cent; can you look?');
    await compose.getByLabel('Ref').fill('PR-42');
    await compose.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/\/inbox\?done=posted$/);
    await page.locator('#live.on').waitFor();

    const push = await pushes.next((c) => c.meta.kind === 'post' && c.meta.from === 'rua/rua');
    expect(push.content).toContain('Totals are off by one cent');
    expect(push.meta.ref).toBe('PR-42');
    const question = Number(push.meta.post_id);

    let loads = 0;
    page.on('load', () => loads++);
    // The browser-side code is a string: these tests compile without the DOM's types.
    await page.evaluate('window.inboxMarker = 7');
    const reply = await callOk(agent, 'post', {
      to_actor: push.meta.from,
      reply_to: question,
      subject: 'Re: Checkout totals',
      body: 'Found it: rounding per line. Fix coming.',
    });
    const replyId = reply.post_id as number;
    const item = page.locator(`#inbox-posts li.msg[data-post="${replyId}"]`);
    await item.getByText('Found it: rounding per line.').waitFor({ timeout: 2000 });
    expect(loads).toBe(0);
    expect(await page.evaluate('window.inboxMarker')).toBe(7);
    expect(await item.getAttribute('class')).toContain('unacked');
    await page.locator('#inbox-unread .badge').getByText('2').waitFor({ timeout: 2000 });
    await page
      .locator(`#inbox-sent li.msg[data-post="${question}"] [data-recipient="rua/claude-api"]`)
      .and(page.locator('[data-state="delivered"]'))
      .waitFor({ timeout: 2000 });
    expect(await page.locator('#inbox-posts li.msg.unacked').count()).toBe(2);
    await page.screenshot({ path: `${OUT}/inbox.png`, fullPage: true });

    await item.getByRole('button', { name: 'Acknowledge' }).click();
    await page.waitForURL(/\/inbox\?done=acked$/);
    expect(
      await page.locator(`li.msg[data-post="${replyId}"]`).first().getAttribute('class'),
    ).not.toContain('unacked');
    const sent = await callOk(agent, 'read_posts', { sent: true });
    const mine = (sent.posts as { post_id: number; receipts: Record<string, string[]> }[]).find(
      (p) => p.post_id === replyId,
    );
    expect(mine?.receipts.acked).toEqual(['rua/rua']);

    const { rows } = await sql<{ type: string; actor: string; post_id: string | null }>`
      select e.type, e.actor, e.post_id from events e join projects p on p.id = e.project_id
      where p.slug = 'relay' and e.type in ('post', 'ack', 'participant_provisioned', 'register')
      order by e.seq`.execute(baton.storage.db);
    expect(rows.slice(-6)).toEqual([
      { type: 'participant_provisioned', actor: 'rua', post_id: null },
      { type: 'register', actor: 'rua/rua', post_id: null },
      { type: 'post', actor: 'rua/codex-db', post_id: expect.any(String) },
      { type: 'post', actor: 'rua/rua', post_id: String(question) },
      { type: 'post', actor: 'rua/claude-api', post_id: String(replyId) },
      { type: 'ack', actor: 'rua/rua', post_id: String(replyId) },
    ]);

    // The thread, and the same inbox at a phone's width.
    await page.goto(`${project}/inbox?thread=${question}`);
    expect(await page.locator('#inbox-thread li.msg').count()).toBe(2);
    await page.goto(`${project}/inbox`);
    await page.setViewportSize(PHONE);
    await page.screenshot({ path: `${OUT}/inbox-phone.png`, fullPage: true });
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(
      PHONE.width,
    );
    expect(problems).toEqual([]);
  });

  it('fits every page into a phone’s width; the task graph scrolls inside its own box', async () => {
    const email = 'sol@example.test';
    const seeded = await baton.seed({
      email,
      projectSlug: 'a-project-with-a-rather-long-slug-for-a-phone',
      label: 'an-agent-with-a-long-name-too',
    });
    const agent = await baton.connect(seeded.token);
    await callOk(agent, 'register', { lane: 'graph', status: 'drawing a long chain of tasks' });
    // A chain twelve tasks deep, and a wide fan: the graph is far wider than a phone.
    let previous: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t = await callOk(agent, 'task_create', {
        title: `Step ${i} of a long chain with a long title`,
        depends_on: previous,
      });
      previous = [(t.task as { task_id: number }).task_id];
    }
    for (let i = 0; i < 6; i++) await callOk(agent, 'task_create', { title: `Loose end ${i}` });
    await callOk(agent, 'lease', { surface: 'src/a/very/long/path/to/some/file/deep/inside.ts' });
    const long = await callOk(agent, 'post', {
      broadcast: true,
      subject: 'A subject line that goes on for quite a while without stopping',
      body: `A long unbroken token: ${'x'.repeat(120)}`,
      ref: 'https://example.test/a/very/long/reference/that/does/not/wrap/easily',
    });

    const { page, problems } = await openPage(PHONE);
    await page.goto(`${baton.baseUrl}/admin/login`);
    const signedOut = await page.evaluate('document.documentElement.scrollWidth');
    await signInAs(page, email);
    const project = await projectUrl('a-project-with-a-rather-long-slug-for-a-phone');
    const { rows } = await sql<{ id: string }>`
      select id from participants where label = 'an-agent-with-a-long-name-too'`.execute(
      baton.storage.db,
    );
    const pages: Record<string, string> = {
      projects: '/admin/projects',
      project,
      board: `${project}/board`,
      'board-search': `${project}/board?query=chain`,
      ledger: `${project}/ledger`,
      inbox: `${project}/inbox`,
      thread: `${project}/inbox?thread=${long.post_id as number}`,
      'inbox-search': `${project}/inbox?query=subject`,
      participants: '/admin/participants',
      participant: `/admin/participants/${rows[0]?.id}`,
    };
    const widths: Record<string, number> = { login: signedOut as number };
    for (const [name, path] of Object.entries(pages)) {
      await page.goto(new URL(path, baton.baseUrl).toString());
      widths[name] = (await page.evaluate('document.documentElement.scrollWidth')) as number;
      await page.screenshot({ path: `${OUT}/phone-${name}.png`, fullPage: true });
      if (name === 'board') {
        const graph = (await page.evaluate(
          "(() => { const g = document.querySelector('#board-tasks .graph'); return [g.scrollWidth, g.clientWidth]; })()",
        )) as [number, number];
        expect(graph[0]).toBeGreaterThan(2 * PHONE.width); // the graph is wide …
        expect(graph[1]).toBeLessThanOrEqual(PHONE.width); // … and scrolls inside its box
      }
    }
    // A token's hand-out card, shown once after a grant.
    await page.goto(project);
    await page.getByLabel('Participant').fill('phone-agent');
    await page.getByRole('button', { name: 'Grant token' }).click();
    await page.locator('#token').waitFor();
    widths.handout = (await page.evaluate('document.documentElement.scrollWidth')) as number;
    for (const [name, width] of Object.entries(widths)) {
      expect(width, name).toBeLessThanOrEqual(PHONE.width);
    }
    expect(problems).toEqual([]);
  });
});
