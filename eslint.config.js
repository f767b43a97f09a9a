import tseslint from 'typescript-eslint';

// The house's boundaries (AGENTS.md, docs/architecture.md), enforced rather than remembered.
// Folders of src/ import downward only; each entry lists what a folder may NOT import. The leaf
// modules at the top of src/ (config, errors, names, log, version, ctx, metrics, time) import no
// folder.
const FOLDERS = [
  'db',
  'auth',
  'access',
  'leases',
  'tools',
  'http',
  'mcp',
  'admin',
  'api',
  'bridge',
  'cli',
];
const TOP = ['server', 'main', 'cluster'];
const LAYERS = {
  db: ['auth', 'access', 'leases', 'tools', 'http', 'mcp', 'admin', 'api', 'bridge', 'cli', ...TOP],
  auth: ['access', 'leases', 'tools', 'http', 'mcp', 'admin', 'api', 'bridge', 'cli', ...TOP],
  // The administrative acts, one implementation each, under every edge that offers them.
  access: ['leases', 'tools', 'http', 'mcp', 'admin', 'api', 'bridge', 'cli', ...TOP],
  leases: ['auth', 'access', 'tools', 'http', 'mcp', 'admin', 'api', 'bridge', 'cli', ...TOP],
  tools: ['http', 'mcp', 'admin', 'api', 'bridge', 'cli', ...TOP],
  http: ['access', 'leases', 'tools', 'mcp', 'admin', 'api', 'bridge', 'cli', ...TOP],
  mcp: ['admin', 'api', 'bridge', 'cli', ...TOP],
  admin: ['mcp', 'api', 'bridge', 'cli', ...TOP],
  api: ['admin', 'bridge', 'cli', ...TOP],
  // The bridge: see BRIDGE below, which allows only what it imports.
  bridge: [],
  cli: ['server'],
};
// The bridge runs on users' machines: it must not drag the server (database, tools) along. It
// may import Node, the MCP SDK, eventsource-parser, its own modules, two leaves and the protocol
// constants; test/bridge-lean.test.ts checks what `baton connect` loads in all.
const BRIDGE = {
  regex:
    '^(?!node:|@modelcontextprotocol/sdk/|eventsource-parser$|\\./|\\.\\./(log|version)\\.js$|\\.\\./mcp/protocol\\.js$)',
  message:
    "the bridge imports only node:, the MCP SDK, eventsource-parser, its own modules, ../log.js, ../version.js and ../mcp/protocol.js: it runs on users' machines",
};
const LEAVES = ['config', 'errors', 'names', 'log', 'version', 'ctx', 'metrics', 'time'];

const DB_DRIVERS = {
  group: ['kysely', 'kysely/*', 'pg', 'pg/*', 'pg-*'],
  message: 'SQL lives in src/db: call a query function from there instead',
};
const MCP_SDK = {
  group: ['@modelcontextprotocol/*'],
  message: 'the MCP SDK is imported only under src/mcp and src/bridge',
};

function forbidden(folder) {
  const above = LAYERS[folder] ?? [];
  const groups = above.flatMap((f) =>
    TOP.includes(f) ? [`../${f}.js`, `../${f}`] : [`../${f}/*`, `../${f}`],
  );
  const patterns = folder === 'bridge' ? [BRIDGE] : [];
  if (groups.length > 0) {
    patterns.push({
      group: groups,
      message: `src/${folder} imports downward only (see docs/architecture.md)`,
    });
  }
  if (folder !== 'db') patterns.push(DB_DRIVERS);
  if (folder !== 'mcp' && folder !== 'bridge') patterns.push(MCP_SDK);
  return ['error', { patterns }];
}

const leafRule = [
  'error',
  {
    patterns: [
      {
        group: FOLDERS.flatMap((f) => [`./${f}/*`, `./${f}`]).concat(TOP.map((t) => `./${t}.js`)),
        message: 'a leaf module imports no folder of src/',
      },
      DB_DRIVERS,
      MCP_SDK,
    ],
  },
];

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.baton/', 'test-output/'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'off',
      'no-duplicate-case': 'error',
    },
  },
  ...FOLDERS.map((folder) => ({
    files: [`src/${folder}/**/*.ts`],
    rules: { 'no-restricted-imports': forbidden(folder) },
  })),
  {
    files: LEAVES.map((leaf) => `src/${leaf}.ts`),
    rules: { 'no-restricted-imports': leafRule },
  },
  {
    files: TOP.map((top) => `src/${top}.ts`),
    rules: { 'no-restricted-imports': ['error', { patterns: [DB_DRIVERS, MCP_SDK] }] },
  },
  {
    // Configuration is read once, in one place, and handed to everything else frozen.
    files: ['src/**/*.ts'],
    ignores: ['src/config.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'only src/config.ts reads process.env' },
      ],
    },
  },
  {
    // Tests probe response bodies of many shapes.
    files: ['test/**/*.ts', 'kit/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // The hooks run in other repositories, where Baton's node_modules do not exist.
    files: ['kit/hooks/**/*.mjs'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!node:|\\./|\\.\\./)',
              message: 'hooks use Node alone: import node: built-ins and ./lib only',
            },
          ],
        },
      ],
    },
  },
);
