import { pino, type Logger } from 'pino';

export type { Logger };

// Tokens never reach a log line: known secret-bearing fields are censored by path, and any
// string that still looks like a Baton token is masked by the serializer below.
const REDACT = [
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'password',
  '*.password',
];

const TOKEN_PATTERN = /baton_[A-Za-z0-9_-]{43}/g;

export function maskTokens(text: string): string {
  return text.replace(TOKEN_PATTERN, 'baton_[redacted]');
}

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: {
        err: (err: unknown) => {
          const s = pino.stdSerializers.err(err as Error);
          return { ...s, message: maskTokens(s.message ?? ''), stack: maskTokens(s.stack ?? '') };
        },
      },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}
