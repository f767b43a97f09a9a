import { RawClient, type McpSession } from './lib.js';
import { flood } from './globs.js';

// The glob flood's attacker, in a process of its own (spawned by bench/globs.ts): reads
// `{ port, attacker, seconds }` on stdin, floods, and writes the outcome counts as JSON. It says
// `ready` first, so that the flood starts when its input arrives, not after the loader's warm-up.

process.stdout.write('ready\n');
let input = '';
process.stdin.setEncoding('utf8');
for await (const chunk of process.stdin) input += chunk as string;
const { port, attacker, seconds } = JSON.parse(input) as {
  port: number;
  attacker: McpSession;
  seconds: number;
};
const raw = new RawClient(port);
try {
  process.stdout.write(JSON.stringify(await flood(raw, attacker, seconds)));
} finally {
  raw.close();
}
