import { beforeAll, describe, expect, it } from 'vitest';
import { callApi, projectId } from './helpers/agents.js';
import { useTestBaton } from './helpers/baton.js';
import { signIn, visibleText, type WebClient } from './helpers/web.js';

// Search on the board page: a GET form answered by the same search as the tool, escaped like
// everything else, paged by the tool's cursor, and only ever over the owner's own project.

const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

describe('search on the board', () => {
  // One owner's project with what the searches find, for every test here.
  let web: WebClient;
  let id: string;
  beforeAll(async () => {
    web = await signIn(baton, 'finder@example.test');
    const agent = await baton.seed({
      email: 'finder@example.test',
      projectSlug: 'findings',
      label: 'writer',
    });
    id = await projectId(baton, 'findings');
    expect(id).toMatch(/^\d+$/);
    await callApi(baton, agent.token, 'post', {
      broadcast: true,
      subject: '<img src=x onerror=alert(1)>',
      body: 'PgBouncer drops prepared statements when a < b & "c".',
    });
    await callApi(baton, agent.token, 'task_create', { title: 'Tune PgBouncer pool' });
    for (let i = 0; i < 22; i++)
      await callApi(baton, agent.token, 'post', { broadcast: true, body: `narwhal number ${i}` });
  });

  it('finds what the tool finds, escaped, marked and paged', async () => {
    const empty = await web.get(`/admin/projects/${id}/board`);
    expect(empty.status).toBe(200);
    expect(empty.text).toMatch(
      /<form class="row" method="get" action="\/admin\/projects\/\d+\/board" role="search">/,
    );
    expect(empty.text).not.toContain('<ol class="hits">');

    const found = await web.get(`/admin/projects/${id}/board?query=pgbouncer`);
    expect(found.status).toBe(200);
    expect(found.text.match(/<li data-kind="/g)).toHaveLength(2);
    expect(found.text).toContain('<mark>PgBouncer</mark>');
    expect(found.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(found.text).not.toContain('<img src=x');
    expect(found.text).toContain('a &lt; b &amp; &quot;c&quot;');
    // The box keeps what was asked, escaped into its value.
    expect(found.text).toMatch(/name="query"[^>]*value="pgbouncer"/);
    const tasks = await web.get(`/admin/projects/${id}/board?query=pgbouncer&kind=task`);
    expect(tasks.text.match(/<li data-kind="task"/g)).toHaveLength(1);
    expect(visibleText(tasks.text)).toContain('Tune PgBouncer pool');

    const first = await web.get(`/admin/projects/${id}/board?query=narwhal`);
    expect(first.text.match(/<li data-kind="post"/g)).toHaveLength(20);
    const more = /<a id="search-more" href="([^"]+)">/.exec(first.text)?.[1];
    expect(more).toBeTruthy();
    const second = await web.get((more as string).replace(/&amp;/g, '&'));
    expect(second.status).toBe(200);
    expect(second.text.match(/<li data-kind="post"/g)).toHaveLength(2);
    expect(second.text).not.toContain('id="search-more"');
    const numbers = (page: string) =>
      [...visibleText(page).matchAll(/narwhal number (\d+)/g)].map((m) => m[1]);
    expect(new Set([...numbers(first.text), ...numbers(second.text)]).size).toBe(22);
  });

  it('says what is wrong with a search it refuses', async () => {
    const short = await web.get(`/admin/projects/${id}/board?query=pg*`);
    expect(short.status).toBe(400);
    expect(visibleText(short.text)).toContain('a prefix needs at least 3 characters');
    const kind = await web.get(`/admin/projects/${id}/board?query=pool&kind=everything`);
    expect(kind.status).toBe(400);
    expect(visibleText(kind.text)).toContain('Kind:');
    const since = await web.get(`/admin/projects/${id}/board?query=pool&since=yesterday`);
    expect(since.status).toBe(400);
    expect(visibleText(since.text)).toContain('Since:');
  });

  it("answers 404 for another owner's project, with nothing of it", async () => {
    const other = await signIn(baton, 'stranger@example.test');
    const url = `/admin/projects/${id}/board?query=pgbouncer`;
    expect((await web.get(url)).text).toContain('PgBouncer'); // there is something to leak
    const res = await other.get(url);
    expect(res.status).toBe(404);
    expect(res.text).not.toContain('PgBouncer');
  });
});
