#!/usr/bin/env node
// Claude Code SessionStart hook: the session begins knowing what changed. It adds the whats_new
// digest as context without advancing the cursor: the hook cannot know the model read it, so
// marking events read stays the agent's own whats_new call. See kit/README.md.
import { connect, field, resolveConnection } from './lib/client.mjs';
import { renderContext } from './lib/digest.mjs';
import { findRoot, readHookInput, runHook } from './lib/hook.mjs';

const HOOK = 'session-start';
const EVENTS_SHOWN = 40;

const context = (text) =>
  JSON.stringify({
    hookSpecificOutput: { hookEventName: 'SessionStart', additionalContext: text },
  }) + '\n';

await runHook(HOOK, async (state) => {
  const input = await readHookInput();
  const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : process.cwd();
  state.root = findRoot(process.env.CLAUDE_PROJECT_DIR || cwd);
  state.failOpenOutput = (reason) =>
    context(
      `Baton could not be reached at session start (${reason}), so there is no digest of what ` +
        'changed. Work goes on; call whats_new once Baton answers.',
    );
  const api = connect(resolveConnection(state.root));
  const [me, news] = await Promise.all([
    api.call('whoami'),
    api.call('whats_new', { advance: false, limit: EVENTS_SHOWN }),
  ]);
  field(me.body, 'actor', 'string', 'whoami');
  field(news.body, 'events', 'array', 'whats_new');
  return { stdout: context(renderContext(me.body, news.body)) };
});
