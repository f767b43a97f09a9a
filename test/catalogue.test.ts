import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCatalogue } from '../src/mcp/catalogue.js';
import { modernToolsList } from '../src/mcp/modern.js';
import { TOOLS } from '../src/tools/index.js';
import { ROOT } from './helpers/process.js';

// tools/list is paid for in every session's context (spec §12). These are the budgets for the
// whole catalogue; each new tool has to fit in what is left.

describe('tool catalogue', () => {
  const catalogue = buildCatalogue();

  it('fits the tools/list budgets: full ≤ 12 KB, core ≤ 5 KB of compact JSON', () => {
    expect(Buffer.byteLength(catalogue.listJson.full)).toBeLessThanOrEqual(12 * 1024);
    expect(Buffer.byteLength(catalogue.listJson.core)).toBeLessThanOrEqual(5 * 1024);
    const core = (JSON.parse(catalogue.listJson.core) as { tools: { name: string }[] }).tools;
    // Exactly the tools flagged core, in catalogue order.
    expect(core.map((t) => t.name)).toEqual(TOOLS.filter((t) => t.core).map((t) => t.name));
    expect(core.length).toBeGreaterThanOrEqual(10);
  });

  it('holds the same budgets in the 2026-07-28 era: the same tools, plus a small envelope', () => {
    for (const profile of ['full', 'core'] as const) {
      const legacy = catalogue.listJson[profile];
      const modern = modernToolsList(legacy);
      const result = JSON.parse(modern) as Record<string, unknown>;
      // What a model is given (the tool definitions) is byte for byte the 2025 era's, so the
      // budgets above hold; the rest is protocol (resultType, ttlMs, cacheScope, serverInfo),
      // which clients keep out of the context.
      expect(JSON.stringify({ tools: result.tools })).toBe(legacy);
      expect(Object.keys(result).sort()).toEqual(
        ['_meta', 'cacheScope', 'resultType', 'tools', 'ttlMs'].sort(),
      );
      expect(Buffer.byteLength(modern) - Buffer.byteLength(legacy)).toBeLessThanOrEqual(160);
    }
  });

  it('keeps descriptions short and schemas lean', () => {
    for (const tool of TOOLS) {
      expect(tool.description.length, tool.name).toBeLessThanOrEqual(150);
    }
    const json = catalogue.listJson.full;
    expect(json).not.toContain('additionalProperties');
    expect(json).not.toContain(String(Number.MAX_SAFE_INTEGER));
  });

  it('still validates what it no longer advertises', () => {
    const post = catalogue.byName.get('post');
    const ok = { to_actor: 'ana/claude-1', body: 'hi' };
    expect(post?.input.safeParse(ok).success).toBe(true);
    expect(post?.input.safeParse({ ...ok, extra: 1 }).success).toBe(false);
    expect(post?.input.safeParse({ ...ok, tag: 't'.repeat(65) }).success).toBe(false);
    expect(post?.input.safeParse({ ...ok, reply_to: 2 ** 60 }).success).toBe(false);
  });

  // What clients do with the hints: confirm a destructive tool, skip confirming a read-only one.
  // MCP's default is "destructive", so an additive tool must say it is not.
  const READ_ONLY = [
    'whoami',
    'list_participants',
    'who_is_active',
    'query_events',
    'latest_claims',
    'list_sequences',
    'who_claimed',
    'who_holds',
    'check_paths',
    'list_tasks',
    'task_get',
    'status',
    'search',
  ];
  const DESTRUCTIVE = [
    'set_liveness_window',
    'release',
    'task_cancel',
    'admin_rotate',
    'admin_revoke',
    'revoke_invite',
  ];

  it('advertises read-only exactly where nothing is written, and every additive tool as not destructive', () => {
    const listed = (
      JSON.parse(catalogue.listJson.full) as {
        tools: { name: string; annotations?: Record<string, boolean> }[];
      }
    ).tools;
    for (const t of listed) {
      const a = { readOnlyHint: false, destructiveHint: true, ...t.annotations };
      expect(a.readOnlyHint, t.name).toBe(READ_ONLY.includes(t.name));
      if (!a.readOnlyHint) expect(a.destructiveHint, t.name).toBe(DESTRUCTIVE.includes(t.name));
    }
    for (const name of ['post', 'read_posts', 'ack', 'whats_new', 'register']) {
      expect(listed.find((t) => t.name === name)?.annotations).toMatchObject({
        destructiveHint: false,
      });
    }
  });

  it('docs/tools.md calls no additive tool destructive', () => {
    const doc = fs.readFileSync(`${ROOT}docs/tools.md`, 'utf8');
    const marked = [...doc.matchAll(/^## `(\w+)`[^\n]*\n\n\*([^*]+)\*/gm)].map((m) => ({
      name: m[1] as string,
      tags: m[2] as string,
    }));
    expect(marked).toHaveLength(TOOLS.length);
    const destructive = marked.filter((m) => /writes, destructive/.test(m.tags)).map((m) => m.name);
    expect(destructive.sort()).toEqual([...DESTRUCTIVE].sort());
    expect(
      marked
        .filter((m) => /read-only/.test(m.tags))
        .map((m) => m.name)
        .sort(),
    ).toEqual([...READ_ONLY].sort());
  });
});
