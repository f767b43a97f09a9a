import { isDeepStrictEqual } from 'node:util';

// What `baton kit install` writes into a repository, as merges of what is already there: each
// function takes the current content and returns the new one, so a second run changes nothing
// and a user's own settings, servers and hooks survive.

/** The Claude Code hooks of the kit, identified by their script under .baton/hooks/. */
const CLAUDE_HOOKS = [
  { event: 'PreToolUse', matcher: 'Write|Edit|MultiEdit', script: 'claim-reconcile.mjs' },
  { event: 'SessionStart', matcher: undefined, script: 'session-start.mjs' },
] as const;

export const HOOKS_DIR = '.baton/hooks';

/** Claude Code runs hooks from the session's directory; the project dir pins the script. */
const hookCommand = (script: string) => `node "$CLAUDE_PROJECT_DIR/${HOOKS_DIR}/${script}"`;

/** The hook's own budget is 1.5 s; this is Claude Code's outer limit, should Node itself hang. */
const HOOK_TIMEOUT_SECONDS = 10;

export class KitFileError extends Error {}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isOurs = (hook: unknown, script: string) =>
  isObject(hook) &&
  typeof hook.command === 'string' &&
  hook.command.includes(`${HOOKS_DIR}/${script}`);

/** .claude/settings.json with the kit's hooks in place exactly once and everything else kept. */
export function mergeSettings(current: unknown): Json {
  if (current !== undefined && !isObject(current)) {
    throw new KitFileError('.claude/settings.json is not a JSON object; fix it and run again');
  }
  const settings: Json = { ...(current ?? {}) };
  if (settings.hooks !== undefined && !isObject(settings.hooks)) {
    throw new KitFileError(
      '"hooks" in .claude/settings.json is not an object; fix it and run again',
    );
  }
  const hooks: Json = { ...((settings.hooks as Json | undefined) ?? {}) };
  for (const { event, matcher, script } of CLAUDE_HOOKS) {
    const groups = hooks[event] ?? [];
    if (!Array.isArray(groups)) {
      throw new KitFileError(`"hooks.${event}" in .claude/settings.json is not a list`);
    }
    const kept = groups.flatMap((group: unknown) => {
      if (!isObject(group) || !Array.isArray(group.hooks)) return [group];
      const others = group.hooks.filter((h: unknown) => !isOurs(h, script));
      if (others.length === group.hooks.length) return [group];
      return others.length > 0 ? [{ ...group, hooks: others }] : [];
    });
    const ours = {
      ...(matcher ? { matcher } : {}),
      hooks: [{ type: 'command', command: hookCommand(script), timeout: HOOK_TIMEOUT_SECONDS }],
    };
    hooks[event] = [...kept, ours];
  }
  settings.hooks = hooks;
  return settings;
}

/** .mcp.json with the `baton` server pointing at `url` with `authorization`, other servers kept. */
export function mergeMcp(current: unknown, url: string, authorization: string): Json {
  if (current !== undefined && !isObject(current)) {
    throw new KitFileError('.mcp.json is not a JSON object; fix it and run again');
  }
  const file: Json = { ...(current ?? {}) };
  if (file.mcpServers !== undefined && !isObject(file.mcpServers)) {
    throw new KitFileError('"mcpServers" in .mcp.json is not an object; fix it and run again');
  }
  const servers: Json = { ...((file.mcpServers as Json | undefined) ?? {}) };
  const previous = isObject(servers.baton) ? servers.baton : {};
  const headers = Object.fromEntries(
    Object.entries(isObject(previous.headers) ? previous.headers : {}).filter(
      ([k]) => k.toLowerCase() !== 'authorization',
    ),
  );
  servers.baton = {
    ...previous,
    type: 'http',
    url,
    headers: { ...headers, Authorization: authorization },
  };
  file.mcpServers = servers;
  return file;
}

/** The Authorization value of the current `baton` server, if any. */
export function currentAuthorization(mcp: unknown): string | undefined {
  const baton = isObject(mcp) && isObject(mcp.mcpServers) ? mcp.mcpServers.baton : undefined;
  const headers = isObject(baton) && isObject(baton.headers) ? baton.headers : {};
  const value = Object.entries(headers).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  return typeof value === 'string' ? value : undefined;
}

export function currentUrl(mcp: unknown): string | undefined {
  const baton = isObject(mcp) && isObject(mcp.mcpServers) ? mcp.mcpServers.baton : undefined;
  return isObject(baton) && typeof baton.url === 'string' ? baton.url : undefined;
}

export const sameJson = (a: unknown, b: unknown) => isDeepStrictEqual(a, b);

export const PRE_COMMIT_MARKER = '# baton-kit pre-commit';
export const LOCAL_HOOK = 'pre-commit.local';

/**
 * The git pre-commit hook: the hook that was there before runs first, unchanged, and its refusal
 * stands; then Baton's checks. With the script or Node missing, the commit goes on. A `.baton`,
 * `.baton/hooks`, hook script or log that is a symbolic link is never followed: the script is not
 * run, nothing is appended (sh cannot open a file without following links, so it checks first)
 * and the commit goes on. The only value put into a logged line is a date; paths reach printf as
 * arguments, never as its format.
 */
export const PRE_COMMIT = `#!/bin/sh
${PRE_COMMIT_MARKER}: written by \`baton kit install\`, which rewrites it on every run.
# A pre-commit hook that was here before runs first, unchanged, as ${LOCAL_HOOK}.
here=$(dirname "$0")
if [ -x "$here/${LOCAL_HOOK}" ]; then
  "$here/${LOCAL_HOOK}" "$@" || exit $?
fi
root=$(git rev-parse --show-toplevel 2>/dev/null) || exit 0
kit="$root/.baton"
script="$kit/hooks/pre-commit.mjs"
if [ -L "$kit" ] || [ -L "$kit/hooks" ] || [ -L "$script" ]; then
  echo "baton pre-commit: .baton, .baton/hooks or the hook script is a symbolic link, which the Baton kit does not follow; Baton was not consulted, commit allowed." >&2
  exit 0
fi
if [ ! -f "$script" ] || ! command -v node >/dev/null 2>&1; then
  printf 'baton pre-commit: %s or node is missing; Baton was not consulted, commit allowed.\\n' "$script" >&2
  log="$kit/pending.log"
  if [ -L "$log" ]; then
    echo "baton pre-commit: .baton/pending.log is a symbolic link, which the Baton kit does not follow; not logged." >&2
  elif mkdir -p "$kit" 2>/dev/null && [ ! -L "$kit" ] && [ ! -L "$log" ]; then
    printf '{"at":"%s","hook":"pre-commit","reason":"the hook script or node is missing"}\\n' \\
      "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$log"
  fi
  exit 0
fi
exec node "$script"
`;

export const DEFAULT_CONFIG = {
  version: 1,
  sequences: [{ glob: 'docs/adr/*.md', sequence: 'adr' }],
};

/** .gitignore with `lines` appended under one comment, each only if missing. */
export function appendIgnores(current: string, lines: string[]): string {
  const present = new Set(current.split(/\r?\n/).map((l) => l.trim()));
  const missing = lines.filter((l) => !present.has(l));
  if (missing.length === 0) return current;
  const lead = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  return `${lead}# Baton adherence kit (baton kit install)\n${missing.join('\n')}\n`;
}
