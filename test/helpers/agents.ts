import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { sql } from 'kysely';
import { call, type TestBaton } from './baton.js';

// Small factories for the claims and leases suites: an agent is a token with its own MCP
// session; the ledger and the project id are read straight from the database.

/** A result or error body as a test reads it: nested fields without ceremony. */
export type Body = Record<string, any>;

export interface Agent {
  token: string;
  actor: string;
  client: Client;
  call(name: string, args?: Record<string, unknown>): ReturnType<typeof call>;
  /** The same tool through POST /api/v1/tools/<name>. */
  api(name: string, args?: Record<string, unknown>): Promise<{ status: number; body: Body }>;
}

export async function makeAgent(
  baton: TestBaton,
  project: string,
  label: string,
  opts: { admin?: boolean } = {},
): Promise<Agent> {
  const seeded = await baton.seed({ projectSlug: project, label, admin: opts.admin ?? false });
  const client = await baton.connect(seeded.token);
  return {
    token: seeded.token,
    actor: seeded.actor,
    client,
    call: (name, args = {}) => call(client, name, args),
    api: (name, args = {}) => callApi(baton, seeded.token, name, args),
  };
}

/** POST /api/v1/tools/<name> to a test Baton, or any server at a base URL: the raw response. */
export function postTool(
  server: { baseUrl: string },
  token: string,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Response> {
  return fetch(`${server.baseUrl}/api/v1/tools/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
}

/** A tool call over /api: its status and JSON body. */
export async function callApi(
  server: { baseUrl: string },
  token: string,
  name: string,
  args: Record<string, unknown> = {},
): Promise<{ status: number; body: Body }> {
  const res = await postTool(server, token, name, args);
  return { status: res.status, body: (await res.json()) as Body };
}

/** The body of a tool call over /api that must succeed; any other status fails the test. */
export async function apiOk(
  server: { baseUrl: string },
  token: string,
  name: string,
  args: Record<string, unknown> = {},
): Promise<Body> {
  const r = await callApi(server, token, name, args);
  if (r.status !== 200) {
    throw new Error(`${name} on ${server.baseUrl}: ${r.status} ${JSON.stringify(r.body)}`);
  }
  return r.body;
}

/** The id of the project with this slug; of the owner with this email, when one is given. */
export async function projectId(
  baton: TestBaton,
  slug: string,
  ownerEmail?: string,
): Promise<string> {
  const row = await baton.storage.db
    .selectFrom('projects')
    .innerJoin('owners', 'owners.id', 'projects.owner_id')
    .select('projects.id')
    .where('projects.slug', '=', slug)
    .$if(ownerEmail !== undefined, (q) => q.where('owners.email', '=', ownerEmail as string))
    .executeTakeFirstOrThrow();
  return row.id;
}

export interface LedgerEvent {
  seq: string;
  type: string;
  actor: string;
  participation_id: string | null;
  lease_id: string | null;
  sequence: string | null;
  ref: string | null;
  data: Body;
}

export async function ledger(
  baton: TestBaton,
  slug: string,
  type?: string,
): Promise<LedgerEvent[]> {
  const id = await projectId(baton, slug);
  const { rows } = await sql<LedgerEvent>`
    select seq, type, actor, participation_id, lease_id, sequence, ref, data from events
    where project_id = ${id} ${type ? sql`and type = ${type}` : sql``}
    order by seq`.execute(baton.storage.db);
  return rows;
}

/** Unwraps a successful result, failing the test with the error otherwise. */
export function ok(r: { isError: boolean; body: Record<string, unknown> }): Body {
  if (r.isError) throw new Error(`expected success, got ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The error object of a failed result. */
export function err(r: { isError: boolean; body: Record<string, unknown> }): Body {
  if (!r.isError) throw new Error(`expected an error, got ${JSON.stringify(r.body)}`);
  return r.body.error as Body;
}
