import fs from 'node:fs';
import path from 'node:path';
import { timeLeft, Unavailable } from './hook.mjs';
import { oneLine } from './text.mjs';

// Where Baton is and who we are: BATON_URL (the /mcp URL) and BATON_TOKEN from the environment,
// each falling back to the `baton` server of the repository's .mcp.json. Tools are called as
// plain JSON at /api/v1/tools/<name>, next to the /mcp endpoint, within the hook's time budget.

/** `${VAR}` and `${VAR:-default}`, expanded the way Claude Code expands .mcp.json. */
function expand(text, env) {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g, (_m, name, fallback) => {
    const value = env[name];
    return value !== undefined && value !== '' ? value : (fallback ?? '');
  });
}

function fromMcpJson(root, env) {
  const file = path.join(root, '.mcp.json');
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Unavailable('.mcp.json is not valid JSON');
  }
  const entry = json?.mcpServers?.baton;
  if (typeof entry !== 'object' || entry === null) return {};
  const url = typeof entry.url === 'string' ? expand(entry.url, env) : undefined;
  const headers = typeof entry.headers === 'object' && entry.headers !== null ? entry.headers : {};
  const auth = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  const bearer = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(expand(auth, env)) : null;
  return { url: url || undefined, token: bearer?.[1] };
}

/** The /api/v1/tools/ base next to an MCP URL: `https://h/x/mcp?tools=core` → `https://h/x/api/v1/tools/`. */
export function toolsBase(mcpUrl) {
  let url;
  try {
    url = new URL(mcpUrl);
  } catch {
    throw new Unavailable('the Baton URL is not a URL (expected http(s)://host/mcp)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Unavailable('the Baton URL must be http or https');
  }
  url.search = '';
  url.hash = '';
  url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/mcp$/, '')}/api/v1/tools/`;
  return url.toString();
}

export function resolveConnection(root, env = process.env) {
  const file = fromMcpJson(root, env);
  const url = env.BATON_URL || file.url;
  const token = env.BATON_TOKEN || file.token;
  if (!url) {
    throw new Unavailable('no Baton URL: set BATON_URL or add a "baton" server to .mcp.json');
  }
  if (!token) {
    throw new Unavailable(
      'no Baton token: set BATON_TOKEN or give the "baton" server in .mcp.json an Authorization header',
    );
  }
  return { base: toolsBase(url), token };
}

const clip = (s, n = 200) => (s.length > n ? `${s.slice(0, n)}…` : s);

function whyUnreachable(err) {
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return 'no answer within the 1.5 s budget';
  }
  const code = err?.cause?.code ?? err?.code;
  return `unreachable (${code ?? clip(String(err?.cause?.message ?? err?.message ?? err), 100)})`;
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A tool caller. `call(name, args, {expect})` resolves to `{ok: true, body}`, or to
 * `{ok: false, error}` for an error whose code is listed in `expect`; everything else (no answer
 * in time, not JSON, an unexpected status) throws Unavailable, and the hook fails open.
 */
export function connect(connection) {
  return {
    async call(name, args = {}, { expect = [] } = {}) {
      const ms = Math.floor(timeLeft());
      if (ms <= 0) throw new Unavailable('no answer within the 1.5 s budget');
      let res;
      let text;
      try {
        res = await fetch(connection.base + name, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${connection.token}`,
            'content-type': 'application/json',
            'user-agent': 'baton-kit',
          },
          body: JSON.stringify(args),
          redirect: 'error',
          signal: AbortSignal.timeout(ms),
        });
        text = await res.text();
      } catch (err) {
        throw new Unavailable(whyUnreachable(err));
      }
      let body;
      try {
        body = JSON.parse(text);
      } catch {
        throw new Unavailable(
          `${name} answered HTTP ${res.status} with something that is not JSON`,
        );
      }
      if (res.status === 200) {
        if (!isObject(body)) throw new Unavailable(`${name} answered with something not an object`);
        return { ok: true, body };
      }
      const error = isObject(body?.error) ? body.error : undefined;
      if (typeof error?.code === 'string' && expect.includes(error.code))
        return { ok: false, error };
      const said = typeof error?.message === 'string' ? `: ${clip(oneLine(error.message))}` : '';
      throw new Unavailable(
        `${name} answered HTTP ${res.status} ${oneLine(error?.code ?? '').slice(0, 40)}${said}`.trim(),
      );
    },
  };
}

/** A field of an answer, of the expected type; anything else is an answer that makes no sense. */
export function field(body, key, type, tool) {
  const value = body?.[key];
  const ok =
    type === 'array'
      ? Array.isArray(value)
      : type === 'integer'
        ? Number.isSafeInteger(value)
        : typeof value === type;
  if (!ok) throw new Unavailable(`${tool} answered without a usable "${key}"`);
  return value;
}
