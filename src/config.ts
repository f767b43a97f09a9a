import { BlockList, isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

// The one place that reads process.env. Everything else receives a frozen Config.

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const intVar = (name: string, min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, `${name} must be at least ${min}`)
        .max(max, `${name} must be at most ${max}`),
    );

/** Server processes one `baton serve` may run (BATON_WORKERS). */
const MAX_WORKERS = 256;

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const postgresUrl = (name: string) =>
  optionalText.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, `${name} must start with postgres:// or postgresql://`)
      .optional(),
  );

const envSchema = z
  .object({
    DATABASE_URL: postgresUrl('DATABASE_URL'),
    DATABASE_DIRECT_URL: postgresUrl('DATABASE_DIRECT_URL'),
    DB_PREPARED_STATEMENTS: z
      .enum(['', 'true', 'false'], 'DB_PREPARED_STATEMENTS must be true or false')
      .optional()
      .transform((v) => v !== 'false'),
    BATON_WORKERS: optionalText
      .pipe(
        z
          .string()
          .regex(/^(auto|\d+)$/, 'BATON_WORKERS must be a whole number or auto')
          .optional(),
      )
      .transform((v) =>
        v === undefined ? 1 : v === 'auto' ? os.availableParallelism() : Number(v),
      )
      .pipe(
        z
          .number()
          .int()
          .min(1, 'BATON_WORKERS must be at least 1')
          .max(MAX_WORKERS, `BATON_WORKERS must be at most ${MAX_WORKERS}`),
      ),
    BATON_DATA_DIR: z.string().trim().min(1).default('./.baton'),
    HOST: z.string().trim().min(1).default('127.0.0.1'),
    PORT: intVar('PORT', 0, 65535).default(8787),
    PUBLIC_URL: optionalText.pipe(z.url('PUBLIC_URL must be an absolute http(s) URL').optional()),
    BATON_SECRET: optionalText.pipe(
      z.string().min(32, 'BATON_SECRET must be at least 32 characters').optional(),
    ),
    OIDC_ISSUER: optionalText.pipe(z.url('OIDC_ISSUER must be a URL').optional()),
    OIDC_CLIENT_ID: optionalText,
    OIDC_CLIENT_SECRET: optionalText,
    TRUST_PROXY: list,
    ALLOWED_ORIGINS: list,
    BATON_MAX_LEASE_SECONDS: intVar('BATON_MAX_LEASE_SECONDS', 1, 31_536_000).default(3600),
    DB_POOL_MAX: intVar('DB_POOL_MAX', 1, 1000).default(20),
    LOG_LEVEL: z
      .enum(LOG_LEVELS, `LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`)
      .default('info'),
    BATON_RATE_LIMIT: intVar('BATON_RATE_LIMIT', 0, 1_000_000).default(100),
    BATON_METRICS_TOKEN: optionalText,
    BATON_PRUNE_INTERVAL_HOURS: intVar('BATON_PRUNE_INTERVAL_HOURS', 0, 8760).default(0),
    BATON_BOOTSTRAP: z
      .enum(['', '0', '1'], 'BATON_BOOTSTRAP must be 1 or 0')
      .optional()
      .transform((v) => v === '1'),
  })
  .superRefine((env, ctx) => {
    if (env.DATABASE_DIRECT_URL && !env.DATABASE_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['DATABASE_DIRECT_URL'],
        message:
          'DATABASE_DIRECT_URL needs DATABASE_URL (without it Baton runs its embedded PostgreSQL)',
      });
    }
    const oidc = [env.OIDC_ISSUER, env.OIDC_CLIENT_ID, env.OIDC_CLIENT_SECRET];
    if (oidc.some(Boolean) && !oidc.every(Boolean)) {
      ctx.addIssue({
        code: 'custom',
        path: ['OIDC_ISSUER'],
        message: 'OIDC_ISSUER, OIDC_CLIENT_ID and OIDC_CLIENT_SECRET must be set together',
      });
    }
    if (env.OIDC_ISSUER && !isSecureIssuer(new URL(env.OIDC_ISSUER))) {
      ctx.addIssue({
        code: 'custom',
        path: ['OIDC_ISSUER'],
        message:
          'OIDC_ISSUER must be an https URL (plain http only for a provider on this machine: localhost, 127.0.0.0/8 or [::1])',
      });
    }
    for (const cidr of env.TRUST_PROXY) {
      if (!parseCidr(cidr)) {
        ctx.addIssue({
          code: 'custom',
          path: ['TRUST_PROXY'],
          message: `TRUST_PROXY entry "${cidr}" is not an IP address or CIDR (e.g. 10.0.0.0/8)`,
        });
      }
    }
    for (const origin of env.ALLOWED_ORIGINS) {
      if (!isOrigin(origin)) {
        ctx.addIssue({
          code: 'custom',
          path: ['ALLOWED_ORIGINS'],
          message: `ALLOWED_ORIGINS entry "${origin}" is not an origin (scheme://host[:port])`,
        });
      }
    }
  });

/** Every environment variable Baton reads; SELFHOSTING.md documents each (a test checks). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.def.shape ?? {});

export interface Config {
  databaseUrl: string | undefined;
  /** For LISTEN, migrations and session-level locks: DATABASE_DIRECT_URL, else DATABASE_URL. */
  databaseDirectUrl: string | undefined;
  /** false: pooler-safe mode (unnamed statements, no settings sent at connect; see db/pool.ts). */
  preparedStatements: boolean;
  /** Server processes on one port (BATON_WORKERS; `auto` is the number of cores). */
  workers: number;
  dataDir: string;
  host: string;
  port: number;
  publicUrl: string;
  /** PUBLIC_URL was given, rather than derived from HOST and PORT. */
  publicUrlSet: boolean;
  secret: string | undefined;
  oidc: { issuer: string; clientId: string; clientSecret: string } | undefined;
  trustProxy: BlockList;
  trustProxyList: readonly string[];
  allowedOrigins: ReadonlySet<string>;
  maxLeaseSeconds: number;
  poolMax: number;
  logLevel: (typeof LOG_LEVELS)[number];
  rateLimit: number;
  metricsToken: string | undefined;
  bootstrap: boolean;
  pruneIntervalHours: number;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/** The base URL of a server listening on this host and port (an IPv6 address in brackets). */
export function urlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Parses the environment once; every problem is reported together. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) =>
        i.message.includes(String(i.path[0] ?? '')) || i.path.length === 0
          ? i.message
          : `${i.path.join('.')}: ${i.message}`,
      ),
    );
  }
  const e = parsed.data;
  const trustProxy = new BlockList();
  for (const cidr of e.TRUST_PROXY) {
    const c = parseCidr(cidr);
    if (c) trustProxy.addSubnet(c.address, c.prefix, c.family);
  }
  const publicUrl = (e.PUBLIC_URL ?? urlOf(e.HOST, e.PORT)).replace(/\/+$/, '');
  return Object.freeze({
    databaseUrl: e.DATABASE_URL,
    databaseDirectUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL,
    preparedStatements: e.DB_PREPARED_STATEMENTS,
    workers: e.BATON_WORKERS,
    dataDir: path.resolve(e.BATON_DATA_DIR),
    host: e.HOST,
    port: e.PORT,
    publicUrl,
    publicUrlSet: e.PUBLIC_URL !== undefined,
    secret: e.BATON_SECRET,
    oidc:
      e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET
        ? { issuer: e.OIDC_ISSUER, clientId: e.OIDC_CLIENT_ID, clientSecret: e.OIDC_CLIENT_SECRET }
        : undefined,
    trustProxy,
    trustProxyList: Object.freeze([...e.TRUST_PROXY]),
    allowedOrigins: new Set(e.ALLOWED_ORIGINS.map((o) => new URL(o).origin)),
    maxLeaseSeconds: e.BATON_MAX_LEASE_SECONDS,
    poolMax: e.DB_POOL_MAX,
    logLevel: e.LOG_LEVEL,
    rateLimit: e.BATON_RATE_LIMIT,
    metricsToken: e.BATON_METRICS_TOKEN,
    bootstrap: e.BATON_BOOTSTRAP,
    pruneIntervalHours: e.BATON_PRUNE_INTERVAL_HOURS,
  });
}

/**
 * `baton connect` runs on the client's machine, not as the server: it reads only BATON_URL and
 * BATON_TOKEN (flags win), which are therefore not in CONFIG_VARIABLES.
 */
export interface BridgeSettings {
  url: URL;
  token: string;
}

export function loadBridgeSettings(
  flags: { url?: string; token?: string },
  env: NodeJS.ProcessEnv = process.env,
): BridgeSettings {
  const problems: string[] = [];
  const urlText = (flags.url ?? env.BATON_URL ?? '').trim();
  const token = (flags.token ?? env.BATON_TOKEN ?? '').trim();
  let url: URL | undefined;
  if (urlText === '') {
    problems.push('give the MCP URL with --url or BATON_URL (e.g. http://127.0.0.1:8787/mcp)');
  } else {
    try {
      url = new URL(urlText);
    } catch {
      problems.push(
        'BATON_URL is not a URL; give the full MCP URL, e.g. http://127.0.0.1:8787/mcp',
      );
    }
    if (url && (!/^https?:$/.test(url.protocol) || !url.pathname.endsWith('/mcp'))) {
      problems.push('BATON_URL must be the http(s) MCP URL, ending in /mcp');
    }
  }
  if (token === '') problems.push('give the token with BATON_TOKEN (or --token)');
  else if (!/^[\x21-\x7e]{1,512}$/.test(token)) {
    problems.push('BATON_TOKEN must be the token itself (no spaces), as printed by seed-token');
  }
  if (problems.length > 0 || !url) throw new ConfigError(problems);
  return { url, token };
}

function parseCidr(
  text: string,
): { address: string; prefix: number; family: 'ipv4' | 'ipv6' } | undefined {
  const [address = '', prefixText] = text.split('/');
  const version = isIP(address);
  if (version === 0) return undefined;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * The sign-in provider's answers are trusted only over TLS. Plain http is admitted on the
 * loopback interface alone, where no network lies between Baton and the provider.
 */
function isSecureIssuer(url: URL): boolean {
  if (url.protocol === 'https:') return true;
  if (url.protocol !== 'http:') return false;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

function isOrigin(text: string): boolean {
  try {
    const u = new URL(text);
    return (
      (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === text.replace(/\/$/, '')
    );
  } catch {
    return false;
  }
}

/** BATON_URL and BATON_TOKEN as client commands read them (`baton kit install` defaults). */
export function clientEnv(env: NodeJS.ProcessEnv = process.env): { url?: string; token?: string } {
  return { url: env.BATON_URL || undefined, token: env.BATON_TOKEN || undefined };
}
