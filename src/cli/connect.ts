import { pino } from 'pino';
import { loadBridgeSettings } from '../config.js';
import { startBridge } from '../bridge/stdio.js';
import { createLogger } from '../log.js';
import { parse, type Verb } from './common.js';

// `baton connect`: the stdio bridge (spec §10). stdout carries MCP; logs go to stderr.

export const connectVerb: Verb = {
  name: 'connect',
  usage: [
    'baton connect [--url <mcp-url>] [--token <token>] [--verbose]',
    '',
    'Speaks MCP on stdin/stdout for runtimes that only launch stdio servers, and forwards every',
    'tool to the Baton at --url (or BATON_URL, the full /mcp URL, e.g. http://127.0.0.1:8787/mcp)',
    'with the token in BATON_TOKEN (or --token, which other users of this machine can see).',
    'Pushes from Baton arrive as notifications/claude/channel. When the server is away, tool calls',
    'answer `unavailable` and the bridge reconnects by itself, resuming where it left off.',
  ].join('\n'),
  async run(argv) {
    const a = parse(
      connectVerb,
      argv,
      { url: { type: 'string' }, token: { type: 'string' }, verbose: { type: 'boolean' } },
      { min: 0, max: 0 },
    );
    const settings = loadBridgeSettings({
      url: a.values.url as string | undefined,
      token: a.values.token as string | undefined,
    });
    const log = createLogger(a.values.verbose ? 'debug' : 'info', pino.destination(2));
    const bridge = await startBridge({ url: settings.url, token: settings.token, log });
    const stop = () => void bridge.close();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    await bridge.done;
    return 0;
  },
};
