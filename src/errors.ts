// The closed list of error codes, the one code → HTTP status table, and the one place where
// PostgreSQL errors become AppErrors. Handlers throw AppError; the edges render it.

export const ERROR_STATUS = {
  invalid_argument: 400,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  lease_held: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'AppError';
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toJSON(): { code: ErrorCode; message: string } & Record<string, unknown> {
    return { ...this.details, code: this.code, message: this.message };
  }
}

export const invalid = (message: string, details?: Record<string, unknown>) =>
  new AppError('invalid_argument', message, details);
export const forbidden = (message: string) => new AppError('forbidden', message);
export const notFound = (message: string) => new AppError('not_found', message);
export const conflict = (message: string, details?: Record<string, unknown>) =>
  new AppError('conflict', message, details);

/** SQLSTATEs a caller can act on. Everything else is `internal`. */
const PG_CODES: Record<string, (e: PgLikeError) => AppError> = {
  '23505': () => conflict('that already exists; choose another name or fetch the existing one'),
  '23503': () => notFound('something this refers to does not exist (or no longer exists)'),
  '22021': () => invalid('text must be valid UTF-8 without NUL characters'),
  '22P05': () => invalid('text must be valid UTF-8 without NUL characters'),
  // A backstop: inputs are checked before they reach SQL (src/names.ts), but a value PostgreSQL
  // cannot read as its type (a lone surrogate in JSON, a malformed number) is the caller's.
  '22P02': () => invalid('a value is not valid text or not a valid number; check the arguments'),
  '22001': () => invalid('a value is longer than allowed'),
  '55P03': () =>
    new AppError('unavailable', 'the resource is busy (lock not available); retry shortly'),
  '40001': () => new AppError('unavailable', 'a concurrent change got in the way; retry'),
  '40P01': () => new AppError('unavailable', 'a concurrent change got in the way; retry'),
  '57014': () => new AppError('unavailable', 'the database took too long; retry shortly'),
};

interface PgLikeError {
  code?: unknown;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08006',
  '08001',
  '08003',
  '08004',
]);

/** Turns anything thrown into an AppError. Unknown faults become `internal`. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const code = (err as PgLikeError | null)?.code;
  if (typeof code === 'string') {
    const map = PG_CODES[code];
    if (map) return map(err as PgLikeError);
    if (CONNECTION_CODES.has(code)) {
      return new AppError('unavailable', 'the database is unreachable; retry shortly');
    }
  }
  if (
    err instanceof Error &&
    /Connection terminated|timeout exceeded when trying to connect|is not queryable|connection error/i.test(
      err.message,
    )
  ) {
    return new AppError('unavailable', 'the database is unreachable; retry shortly');
  }
  return new AppError('internal', 'internal error');
}
