import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { ensureOwner } from '../src/auth/provision.js';
import { callApi } from './helpers/agents.js';
import { callOk, useTestBaton } from './helpers/baton.js';
import { OUT, useBrowser } from './helpers/browser.js';
import { runCli } from './helpers/process.js';

// The web admin in a real headless Chromium (Debian's, driven by playwright-core): an owner's
// whole token round trip, the live board, and hostile names rendered as text (issue done-when
// 1, 2 and 6). Screenshots go to test-output/web/.

const baton = useTestBaton();
const { openPage, signInAs } = useBrowser(baton);

const text = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? '').replace(/\s+/g, ' ').trim();

describe('the web admin in Chromium', () => {
  it('signs in with a one-time link, creates a project, grants, uses, rotates and revokes a token', async () => {
    await ensureOwner(baton.storage.db, 'ana@example.test', 'ana');
    const cli = await runCli(['admin-link', 'ana@example.test'], {
      DATABASE_URL: baton.config.databaseUrl as string,
      PUBLIC_URL: baton.baseUrl,
      LOG_LEVEL: 'silent',
    });
    expect(cli.code, cli.stderr).toBe(0);
    const { page, problems } = await openPage();

    await page.goto(cli.stdout.trim());
    expect(await text(page, 'main')).toContain('Sign in to Baton as ana (ana@example.test)?');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL('**/admin/projects');
    expect(await text(page, 'main')).toContain('No projects yet.');
    expect(await text(page, 'header')).toContain('ana');

    await page.getByLabel('Name').fill('Payments API');
    await page.getByLabel('Slug').fill('payments');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(/\/admin\/projects\/\d+\?done=project-created$/);
    const projectUrl = page.url().replace(/\?.*$/, '');
    expect(await text(page, '#project-name')).toBe('Payments API');
    expect(await text(page, '.flash.notice')).toBe('Project created.');
    expect(await text(page, '#participants')).toContain('Nobody takes part yet');

    await page.getByLabel('Participant').fill('claude-1');
    await page.getByLabel('Lane').first().fill('api');
    await page.getByRole('button', { name: 'Grant token' }).click();
    await page.locator('#token').waitFor();
    expect(await text(page, 'h1')).toBe('Token for ana/claude-1');
    expect(await text(page, '#handout .flash')).toContain('Shown once.');
    const token = await text(page, '#token');
    expect(token).toMatch(/^baton_[\w-]{43}$/);
    expect(await text(page, '#claude-mcp-add')).toBe(
      `claude mcp add --transport http baton ${baton.mcpUrl} --header "Authorization: Bearer ${token}"`,
    );
    expect(JSON.parse(await text(page, '#mcp-json'))).toEqual({
      mcpServers: {
        baton: { type: 'http', url: baton.mcpUrl, headers: { Authorization: `Bearer ${token}` } },
      },
    });

    // The token works with the official MCP client.
    const client = await baton.connect(token);
    expect(await callOk(client, 'whoami')).toMatchObject({
      actor: 'ana/claude-1',
      project: 'payments',
      lane: 'api',
    });

    await page.getByRole('link', { name: 'Done, back to the project' }).click();
    await page.waitForURL(projectUrl);
    const row = page.locator('#participants tr', { hasText: 'ana/claude-1' });
    expect((await row.textContent())?.replace(/\s+/g, ' ')).toMatch(/1 live/);
    expect(await page.content()).not.toContain(token);

    await row.getByRole('button', { name: 'Rotate' }).click();
    await page.locator('#token').waitFor();
    const rotated = await text(page, '#token');
    expect(rotated).toMatch(/^baton_[\w-]{43}$/);
    expect(rotated).not.toBe(token);
    expect(await text(page, '#handout .flash')).toContain('The previous token stops working now.');
    expect((await callApi(baton, token, 'whoami')).status).toBe(401);
    const again = await baton.connect(rotated);
    expect((await callOk(again, 'whoami')).actor).toBe('ana/claude-1');

    await page.goto(projectUrl);
    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.waitForURL(/\?done=revoked/);
    expect(await text(page, '.flash.notice')).toBe(
      'Tokens revoked; their MCP sessions are closed.',
    );
    expect((await row.textContent())?.replace(/\s+/g, ' ')).toMatch(/0 live/);
    expect(await row.getByRole('button', { name: 'Revoke' }).isDisabled()).toBe(true);
    expect((await callApi(baton, rotated, 'whoami')).status).toBe(401);

    await page.goto(`${baton.baseUrl}/admin/projects`);
    expect(await text(page, '#projects')).toContain('Payments API');
    await page.screenshot({ path: `${OUT}/dashboard.png`, fullPage: true });
    await page.goto(projectUrl);
    await page.screenshot({ path: `${OUT}/project.png`, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows a post, a lease and a task transition made through MCP on the board within 2 s, without a reload', async () => {
    const email = 'bo@example.test';
    const lead = await baton.seed({
      email,
      projectSlug: 'checkout',
      label: 'claude-lead',
    });
    const helper = await baton.seed({
      email,
      projectSlug: 'checkout',
      label: 'claude-db',
    });
    const a = await baton.connect(lead.token);
    const b = await baton.connect(helper.token);
    await callOk(a, 'register', { lane: 'api', status: 'planning the checkout' });
    await callOk(b, 'register', { lane: 'db' });
    const task = async (title: string, depends_on: number[] = []) =>
      ((await callOk(a, 'task_create', { title, depends_on })).task as { task_id: number }).task_id;
    const schema = await task('Design the schema');
    const migration = await task('Write the migration', [schema]);
    const api = await task('Expose the checkout API', [migration]);
    await task('Document the API', [api]);
    await task('Load-test the payment provider');

    const { page, problems } = await openPage();
    await signInAs(page, email);
    await page.getByRole('link', { name: 'Board' }).first().click();
    await page.waitForURL(/\/board$/);
    await page.locator('#live.on').waitFor();
    const edges = page.locator('#board-tasks path.edge');
    expect(await edges.count()).toBe(3);
    expect(
      await page
        .locator(`#board-tasks path.edge[data-from="${schema}"][data-to="${migration}"]`)
        .count(),
    ).toBe(1);
    let loads = 0;
    page.on('load', () => loads++);
    // The browser-side code is a string: these tests compile without the DOM's types.
    await page.evaluate('window.boardMarker = 42');

    await callOk(a, 'post', {
      broadcast: true,
      subject: 'Schema ready for review',
      body: 'Tables are in; see the PR.',
    });
    await page
      .locator('#board-posts')
      .getByText('Schema ready for review')
      .waitFor({ timeout: 2000 });
    await page.locator('#board-events li[data-type="post"]').first().waitFor({ timeout: 2000 });

    await callOk(b, 'lease', { surface: 'src/db/**', ttl_seconds: 600, note: 'migration' });
    await page.locator('#board-leases').getByText('src/db/**').waitFor({ timeout: 2000 });
    expect(await text(page, '#board-leases')).toContain('bo/claude-db');

    await callOk(b, 'task_start', { task_id: schema });
    await page
      .locator(`#board-tasks g.node.in_progress[data-task="${schema}"]`)
      .waitFor({ timeout: 2000 });
    await page
      .locator('#tasks-in-flight')
      .getByText('Design the schema')
      .waitFor({ timeout: 2000 });
    await callOk(b, 'task_ship', { task_id: schema });
    await page
      .locator(`#board-tasks g.node.done[data-task="${schema}"]`)
      .waitFor({ timeout: 2000 });
    await page
      .locator(`#board-tasks g.node.ready[data-task="${migration}"]`)
      .waitFor({ timeout: 2000 });
    await callOk(a, 'task_start', { task_id: migration });
    await callOk(a, 'task_block', { task_id: migration, reason: 'waiting for the schema review' });
    await page
      .locator(`#board-tasks g.node.blocked[data-task="${migration}"]`)
      .waitFor({ timeout: 2000 });
    await page
      .locator('#tasks-blocked')
      .getByText('Write the migration')
      .waitFor({ timeout: 2000 });

    expect(loads).toBe(0);
    expect(await page.evaluate('window.boardMarker')).toBe(42);
    expect(await text(page, '#board-presence')).toMatch(/2 of 2 active/);
    await page.screenshot({ path: `${OUT}/board.png`, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('renders every name a user can type as text, on every page, and runs no injected script', async () => {
    const project = '<script>alert(1)</script>';
    const participant = '<img src=x onerror=alert(1)>';
    const email = 'eve@example.test';
    const { page, problems } = await openPage();
    await signInAs(page, email);

    await page.getByLabel('Name').fill(project);
    await page.getByLabel('Slug').fill('hostile');
    await page.getByRole('button', { name: 'Create project' }).click();
    await page.waitForURL(/\/admin\/projects\/\d+\?done=project-created$/);
    const projectUrl = page.url().replace(/\?.*$/, '');
    await page.getByLabel('Participant').fill(participant);
    await page.getByRole('button', { name: 'Grant token' }).click();
    await page.locator('#token').waitFor();
    expect(await text(page, 'h1')).toBe(`Token for eve/${participant}`);
    const agent = await baton.connect(await text(page, '#token'));
    await callOk(agent, 'register', { lane: 'ui', status: '<b onmouseover=alert(2)>busy</b>' });
    await callOk(agent, 'task_create', { title: '<img src=y onerror=alert(3)>' });
    await callOk(agent, 'post', {
      broadcast: true,
      subject: '<svg onload=alert(4)>',
      body: '<script>alert(5)</script>',
    });
    const participantId = (
      await baton.storage.db
        .selectFrom('participants')
        .select('id')
        .where('label', '=', participant)
        .executeTakeFirstOrThrow()
    ).id;

    const pages = [
      '/admin/projects',
      projectUrl,
      `${projectUrl}/board`,
      `${projectUrl}/ledger`,
      '/admin/participants',
      `/admin/participants/${participantId}`,
    ];
    for (const path of pages) {
      await page.goto(new URL(path, baton.baseUrl).toString());
      const body = (await page.locator('body').textContent()) ?? '';
      expect(body, path).toContain(project);
      if (path !== '/admin/projects') expect(body, path).toContain(participant);
      // Nothing typed became an element: we render no images, and no script but our own.
      expect(await page.locator('img, svg[onload], b[onmouseover]').count(), path).toBe(0);
      const scripts = (await page.evaluate(
        "[...document.scripts].map((s) => s.nonce !== '')",
      )) as boolean[];
      expect(scripts.every(Boolean), path).toBe(true);
      expect(await page.title(), path).not.toMatch(/^$/);
    }

    // On the board the same names also arrive through the stream and innerHTML.
    await page.goto(`${projectUrl}/board`);
    await page.locator('#live.on').waitFor();
    await callOk(agent, 'post', {
      broadcast: true,
      subject: '"><img src=z onerror=alert(6)>',
      body: 'again',
    });
    await page
      .locator('#board-posts')
      .getByText('"><img src=z onerror=alert(6)>')
      .waitFor({ timeout: 2000 });
    expect(await text(page, '#board-events')).toContain(`eve/${participant}`);
    expect(await page.locator('img').count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
