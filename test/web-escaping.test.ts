import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw } from '../src/admin/html.js';
import { callApi } from './helpers/agents.js';
import { useTestBaton } from './helpers/baton.js';
import { readSse } from './helpers/sse.js';
import { signIn, visibleText } from './helpers/web.js';

// Everything a user can type is escaped wherever it is shown (issue done-when 6, over HTTP; the
// browser test proves no script runs). The html template escapes by default.

const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

const PROJECT = '<script>alert(1)</script>';
const PARTICIPANT = '<img src=x onerror=alert(1)>';
const ATTRIBUTE = '" onmouseover="alert(2)';

describe('the html template', () => {
  // Called through another name, so the formatter leaves these literals exactly as written.
  const tag = html;

  it('escapes every interpolated value unless it is markup we made', () => {
    const value = `<a href="x">'&'</a>`;
    expect(tag`<p title="${value}">${value}</p>`.text).toBe(
      '<p title="&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;">&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;</p>',
    );
    expect(tag`<ul>${['<b>', tag`<li>${'<i>'}</li>`]}</ul>`.text).toBe(
      '<ul>&lt;b&gt;<li>&lt;i&gt;</li></ul>',
    );
    expect(tag`${null}${undefined}${false}${true}${0}${raw('<hr />')}`.text).toBe('0<hr />');
    expect(tag`${new Date(0)}`.text).toBe('1970-01-01T00:00:00.000Z');
    expect(escapeHtml('plain')).toBe('plain');
  });
});

describe('names people type', () => {
  it('render as text on every page and in the board stream', async () => {
    const web = await signIn(baton, 'eve@example.test');
    await web.get('/admin/projects');
    const created = await web.post('/admin/projects', { slug: 'hostile', name: PROJECT });
    const project = /\/admin\/projects\/(\d+)/.exec(created.location ?? '')?.[1] as string;
    await web.get(`/admin/projects/${project}`);
    const card = await web.post(`/admin/projects/${project}/grant`, {
      participant: PARTICIPANT,
      lane: 'ui',
    });
    const token = /id="token">(baton_[\w-]{43})</.exec(card.text)?.[1] as string;
    await callApi(baton, token, 'register', { lane: 'ui', status: ATTRIBUTE });
    await callApi(baton, token, 'task_create', { title: PARTICIPANT });
    await callApi(baton, token, 'post', { broadcast: true, subject: ATTRIBUTE, body: PROJECT });
    await callApi(baton, token, 'lease', { surface: 'lane:ui', note: PROJECT });
    const invite = await web.post(`/admin/projects/${project}/invites`, {
      participant: 'x<y>',
      kind: 'agent',
      uses: '1',
      ttl_hours: '1',
    });
    const { rows } = await sql<{
      id: string;
    }>`select id from participants where label = ${PARTICIPANT}`.execute(baton.storage.db);
    // The owner's inbox: a post to them with every field hostile, and a reply to it.
    const inbox = `/admin/projects/${project}/inbox`;
    await web.get(inbox);
    const toOwner = await callApi(baton, token, 'post', {
      to_actor: 'eve/eve',
      subject: ATTRIBUTE,
      body: PROJECT,
      ref: PARTICIPANT,
      tag: 'x<y>',
    });
    const replyTo = `${inbox}?reply=${toOwner.body.post_id}&to=${encodeURIComponent(`actor:eve/${PARTICIPANT}`)}`;

    const pages = {
      projects: await web.get('/admin/projects'),
      project: await web.get(`/admin/projects/${project}`),
      board: await web.get(`/admin/projects/${project}/board`),
      ledger: await web.get(`/admin/projects/${project}/ledger`),
      filtered: await web.get(
        `/admin/projects/${project}/ledger?actor=${encodeURIComponent(`eve/${PARTICIPANT}`)}`,
      ),
      inbox: await web.get(inbox),
      thread: await web.get(`${inbox}?thread=${toOwner.body.post_id}`),
      reply: await web.get(replyTo),
      participants: await web.get('/admin/participants'),
      participant: await web.get(`/admin/participants/${rows[0]?.id}`),
      card,
      invite,
      refused: await web.post('/admin/participants', { label: PARTICIPANT, kind: 'agent' }),
    };
    for (const [name, page] of Object.entries(pages)) {
      expect(page.status, name).toBeLessThan(500);
      for (const hostile of [PROJECT, PARTICIPANT, ATTRIBUTE, 'x<y>']) {
        expect(page.text, name).not.toContain(hostile);
      }
      expect(page.text, name).not.toMatch(/<script(?! nonce="[^"]+">)/);
      expect(page.text, name).not.toMatch(/<img/);
      expect(page.headers.get('content-security-policy'), name).toMatch(/script-src 'nonce-/);
    }
    expect(visibleText(pages.project.text)).toContain(PROJECT);
    expect(pages.project.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(visibleText(pages.project.text)).toContain(`eve/${PARTICIPANT}`);
    expect(visibleText(pages.board.text)).toContain(`eve/${PARTICIPANT}`);
    expect(visibleText(pages.board.text)).toContain(ATTRIBUTE);
    expect(visibleText(pages.filtered.text)).toContain(`eve/${PARTICIPANT}`);
    for (const hostile of [ATTRIBUTE, PROJECT, PARTICIPANT, 'x<y>']) {
      expect(visibleText(pages.inbox.text)).toContain(hostile);
    }
    expect(pages.reply.text).toContain(`value="actor:eve/&lt;img src=x onerror=alert(1)&gt;"`);
    expect(visibleText(pages.participant.text)).toContain(PROJECT);
    expect(pages.refused.status).toBe(409);
    expect(visibleText(pages.refused.text)).toContain(
      `you already have a participant named "${PARTICIPANT}"`,
    );

    // The stream carries markup rendered by the same escaping templates.
    const stream = await readSse(`${baton.baseUrl}/admin/projects/${project}/board/events`, {
      cookie: `baton_admin=${web.cookies.get('baton_admin')}`,
    });
    const board = await stream.next('board');
    stream.close();
    const data = JSON.parse(board.data) as { sections: Record<string, string> };
    const markup = Object.values(data.sections).join('');
    for (const hostile of [PROJECT, PARTICIPANT, ATTRIBUTE]) expect(markup).not.toContain(hostile);
    expect(markup).toContain('eve/&lt;img src=x onerror=alert(1)&gt;');
  });
});
