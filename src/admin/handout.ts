import { setupBlock } from '../auth/setup.js';
import type { OwnedProject } from '../db/admin.js';
import { html, type SafeHtml } from './html.js';
import { page } from './layout.js';
import { projectPath } from './project-page.js';
import type { OwnerCall } from './types.js';

// Hand-out cards: a freshly minted token, or invite code, shown this once with everything needed
// to use it. Baton keeps only hashes, so nothing on these cards can be shown again.

export function tokenCard(
  c: OwnerCall,
  project: OwnedProject,
  t: { actor: string; token: string; expiresAt: Date | null; replaced?: number },
): SafeHtml {
  const s = setupBlock(c.deps.config.publicUrl, t.token);
  const body = html`<h1>Token for ${t.actor}</h1>
    <p class="sub">
      Project <a href="${projectPath(project)}">${project.name}</a>${
        t.expiresAt ? html` · expires ${t.expiresAt.toISOString()}` : ' · does not expire'
      }
    </p>
    <section class="card" id="handout">
      <div class="flash notice" role="status">
        <strong>Shown once.</strong> Copy the token now: Baton keeps only its hash and cannot show
        it again.${t.replaced === undefined ? '' : replacedNote(t.replaced)}
      </div>
      <h3>Token</h3>
      <pre class="secret" id="token">${t.token}</pre>
      <h3>MCP URL</h3>
      <pre id="mcp-url">${s.mcp_url}</pre>
      <h3>Claude Code</h3>
      <pre id="claude-mcp-add">${s.claude_mcp_add}</pre>
      <h3><code>.mcp.json</code></h3>
      <pre id="mcp-json">${JSON.stringify(s.mcp_json, null, 2)}</pre>
      <h3>Environment (hooks and scripts)</h3>
      <pre id="env">
BATON_URL=${s.env.BATON_URL}
BATON_TOKEN=${s.env.BATON_TOKEN}</pre>
      <p><a class="button" href="${projectPath(project)}">Done, back to the project</a></p>
    </section>`;
  return page(c, `Token for ${t.actor}`, body);
}

export function inviteCard(
  c: OwnerCall,
  project: OwnedProject,
  i: { code: string; expiresAt: Date; uses: number; label: string | null },
): SafeHtml {
  const url = `${c.deps.config.publicUrl}/join`;
  const payload = JSON.stringify({ code: i.code, name: i.label ?? '<choose a name>' });
  const body = html`<h1>Invite${i.label ? html` for ${i.label}` : ''}</h1>
    <p class="sub">
      Project <a href="${projectPath(project)}">${project.name}</a> · ${i.uses}
      ${i.uses === 1 ? 'use' : 'uses'} · expires ${i.expiresAt.toISOString()}
    </p>
    <section class="card" id="handout">
      <div class="flash notice" role="status">
        <strong>Shown once.</strong> Send the code to whoever should join; Baton keeps only its
        hash.
      </div>
      <h3>Invite code</h3>
      <pre class="secret" id="invite-code">${i.code}</pre>
      <h3>Redeem it</h3>
      <pre id="redeem">
curl -s -X POST ${url} -H 'content-type: application/json' -d '${payload}'</pre>
      <p>The answer holds the new token and its set-up block.</p>
      <p><a class="button" href="${projectPath(project)}#invites">Done, back to the project</a></p>
    </section>`;
  return page(c, 'Invite', body);
}

function replacedNote(n: number): string {
  if (n === 0) return ' It had no live token to replace.';
  return n === 1
    ? ' The previous token stops working now.'
    : ` The previous ${n} tokens stop working now.`;
}
