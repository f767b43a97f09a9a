import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { AppError } from '../errors.js';
import { createLogger, maskTokens, type Logger } from '../log.js';
import { pino } from 'pino';

// What every verb shares: argument parsing that fails with one line, --help, config, a logger
// on stderr (stdout stays clean for --json), and the exit-code convention (0 done or help,
// 2 usage, 1 failure).

export class UsageError extends Error {}

/** --help was given: parse() stops the verb there, and runVerb() prints its usage. */
class HelpRequested extends Error {}

export interface Verb {
  name: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}

export function parse<T extends NonNullable<ParseArgsConfig['options']>>(
  verb: Verb,
  argv: string[],
  options: T,
  positionals: { min: number; max: number },
) {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message.split('\n')[0]}; see baton ${verb.name} --help`);
  }
  if (parsed.values.help) throw new HelpRequested();
  const n = parsed.positionals.length;
  if (n < positionals.min || n > positionals.max) {
    throw new UsageError(`usage: ${verb.usage.split('\n')[0]}`);
  }
  return parsed;
}

/**
 * Runs a verb as the `baton` command does: --help prints the verb's usage on stdout; a failure is
 * one line on stderr (tokens masked, never a stack trace) and a non-zero exit.
 */
export async function runVerb(verb: Verb, argv: string[]): Promise<number> {
  try {
    return await verb.run(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${verb.usage}\n`);
      return 0;
    }
    const code = err instanceof UsageError ? 2 : 1;
    const prefix = err instanceof AppError ? `${err.code}: ` : '';
    process.stderr.write(`baton ${verb.name}: ${prefix}${maskTokens(describeFailure(err))}\n`);
    return code;
  }
}

export function cliConfig(): Readonly<Config> {
  return loadConfig();
}

export function cliLogger(config?: Readonly<Config>): Logger {
  const level =
    config?.logLevel === 'debug' || config?.logLevel === 'trace' ? config.logLevel : 'warn';
  return createLogger(level, pino.destination(2));
}

export function describeFailure(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  if (err instanceof Error) return err.message.split('\n')[0] ?? 'failed';
  return String(err);
}
