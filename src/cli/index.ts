#!/usr/bin/env node
import { describeFailure, runVerb } from './common.js';
import { VERBS } from './verbs.js';

// The `baton` command: one verb per module, loaded only when it runs, each with --help; failures
// are one line on stderr and a non-zero exit, never a stack trace.

function usage(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length));
  return [
    'usage: baton <command> [options]',
    '',
    ...VERBS.map((v) => `  ${v.name.padEnd(width)}  ${v.summary}`),
    '',
    'Run `baton <command> --help` for its options. Configuration comes from the environment (see README).',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    process.stderr.write('baton: missing command; run npx baton --help\n');
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return 0;
  }
  const entry = VERBS.find((v) => v.name === name);
  if (!entry) {
    process.stderr.write(`baton: unknown command "${name.slice(0, 40)}"; run npx baton --help\n`);
    return 2;
  }
  return runVerb(await entry.load(), rest);
}

main(process.argv.slice(2)).then(
  // The verb is done (serve only returns once shut down): do not wait on stray handles.
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`baton: ${describeFailure(err)}\n`);
    process.exit(1);
  },
);
