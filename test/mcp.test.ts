import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { TOOLS } from '../src/tools/index.js';
import { call, useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

describe('MCP over Streamable HTTP', () => {
  it('lists the tools and answers whoami for the token it was given', async () => {
    const seeded = await baton.seed({ label: 'claude-1', kind: 'agent' });
    const client = await baton.connect(seeded.token);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(
      expect.arrayContaining(['whoami', 'list_participants']),
    );
    let untitled = 0;
    for (const t of tools) {
      // A title, unless it would only spell out the name (`who_holds` → "Who holds").
      const spelled = t.name.charAt(0).toUpperCase() + t.name.slice(1).replace(/_/g, ' ');
      const title = TOOLS.find((d) => d.name === t.name)?.title;
      if (title === spelled) {
        expect(t.title, t.name).toBeUndefined();
        untitled++;
      } else expect(t.title, t.name).toBe(title);
      expect(t.description).toBeTruthy();
      expect(t.outputSchema).toBeUndefined();
    }
    expect(untitled).toBeGreaterThan(0);
    expect(tools.find((t) => t.name === 'whoami')?.annotations).toEqual({ readOnlyHint: true });
    const r = await client.callTool({ name: 'whoami', arguments: {} });
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent).toEqual({
      actor: seeded.actor,
      handle: 'owner',
      label: 'claude-1',
      kind: 'agent',
      project: 'alpha',
      lane: null,
      is_admin: false,
    });
    // The text block carries the same JSON.
    const text = (r.content as { type: string; text: string }[])[0];
    expect(JSON.parse(text?.text ?? '')).toEqual(r.structuredContent);
  });

  it('initialize names the server, its version and instructions, and a session id', async () => {
    const { token } = await baton.seed();
    const client = await baton.connect(token);
    expect(client.getServerVersion()?.name).toBe('baton');
    expect(client.getInstructions()).toMatch(/whats_new/);
    expect(client.getServerCapabilities()?.tools).toBeDefined();
  });

  it("lists participants of the caller's project only", async () => {
    const a = await baton.seed({ projectSlug: 'roster', label: 'ana' });
    await baton.seed({ projectSlug: 'roster', label: 'bo', kind: 'human', admin: true });
    await baton.seed({ projectSlug: 'elsewhere', label: 'cy' });
    const client = await baton.connect(a.token);
    const { body } = await call(client, 'list_participants');
    const roster = body.participants as {
      actor: string;
      kind: string;
      is_admin: boolean;
      active: boolean;
    }[];
    expect(roster.map((p) => p.actor)).toEqual(['owner/ana', 'owner/bo']);
    expect(roster.find((p) => p.actor === 'owner/bo')).toMatchObject({
      kind: 'human',
      is_admin: true,
    });
  });

  it('returns invalid arguments as an isError result naming the field, not a protocol error', async () => {
    const { token } = await baton.seed();
    const client = await baton.connect(token);
    const r = await call(client, 'whoami', { verbose: true });
    expect(r.isError).toBe(true);
    const error = r.body.error as {
      code: string;
      message: string;
      fields: { field: string; problem: string }[];
    };
    expect(error.code).toBe('invalid_argument');
    expect(error.fields[0]?.field).toBe('verbose');
    expect(error.message).toMatch(/verbose: unknown argument; whoami takes no arguments/);
  });

  it('answers an unknown tool name with JSON-RPC error -32602', async () => {
    const { token } = await baton.seed();
    const client = await baton.connect(token);
    const err = await client
      .callTool({ name: 'no_such_tool', arguments: {} })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(McpError);
    expect((err as McpError).code).toBe(-32602);
    expect((err as McpError).message).toMatch(/no_such_tool; tools\/list names the tools/);
  });

  it('the core profile lists only core tools and refuses others as unknown', async () => {
    const { token } = await baton.seed();
    const client = await baton.connect(token, { profile: 'core' });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain('whoami');
    expect(tools.map((t) => t.name)).not.toContain('list_participants');
    const err = await client
      .callTool({ name: 'list_participants', arguments: {} })
      .catch((e: unknown) => e);
    expect((err as McpError).code).toBe(-32602);
    expect((err as McpError).message).toMatch(
      /not in the core profile; connect without \?tools=core/,
    );
  });
});
