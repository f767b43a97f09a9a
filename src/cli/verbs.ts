import type { Verb } from './common.js';

// The one list of `baton` verbs. A verb's module is loaded only when it runs (or prints its
// help), so `baton connect` on a user's machine does not load the server, its database driver
// and every tool; the summaries `baton --help` lists are therefore here (and only here), and a
// test keeps each name equal to its module's.

export interface VerbEntry {
  name: string;
  summary: string;
  load(): Promise<Verb>;
}

export const VERBS: readonly VerbEntry[] = [
  {
    name: 'serve',
    summary: 'run the Baton server (npm start)',
    load: async () => (await import('./serve.js')).serve,
  },
  {
    name: 'migrate',
    summary: 'apply pending database migrations (npm run migrate)',
    load: async () => (await import('./migrate.js')).migrate,
  },
  {
    name: 'bootstrap-owner',
    summary: 'create an owner (a human account)',
    load: async () => (await import('./identity.js')).bootstrapOwner,
  },
  {
    name: 'seed-token',
    summary: 'mint a token for a participant, creating what is missing',
    load: async () => (await import('./identity.js')).seedTokenVerb,
  },
  {
    name: 'admin-link',
    summary: 'print a one-time web-admin sign-in link (valid 15 minutes)',
    load: async () => (await import('./admin-link.js')).adminLink,
  },
  {
    name: 'export',
    summary: "write a project's ledger as JSON lines",
    load: async () => (await import('./portability.js')).exportVerb,
  },
  {
    name: 'import',
    summary: 'load a ledger written by export into a project with no ledger',
    load: async () => (await import('./portability.js')).importVerb,
  },
  {
    name: 'prune',
    summary: 'remove expired leases, old presence, finished invites and idle sessions',
    load: async () => (await import('./prune.js')).pruneVerb,
  },
  {
    name: 'kit',
    summary: 'install the adherence kit (hooks) into a repository',
    load: async () => (await import('./kit.js')).kitVerb,
  },
  {
    name: 'connect',
    summary: 'a stdio MCP server that forwards to a remote Baton, pushes included',
    load: async () => (await import('./connect.js')).connectVerb,
  },
];
