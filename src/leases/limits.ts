// Every bound on lease surfaces and lease matching, in one place: SELFHOSTING.md lists them
// (a test keeps the two in step). Matching runs on the event loop that every tenant shares, so
// what one request may ask of it is bounded here, generously for real repositories.

/** Characters in a surface (the column's own limit). */
export const MAX_SURFACE_LENGTH = 512;

/** `*` runs, `?` and `[...]` classes in one glob, a whole-segment `**` counting as one. */
export const MAX_GLOB_WILDCARDS = 32;

/** Whole-segment `**` in one glob, after consecutive ones are collapsed (`**\/**` is `**`). */
export const MAX_GLOB_GLOBSTARS = 8;

/** Live leases one participation may hold; renewing a held lease never counts twice. */
export const MAX_LEASES_PER_PARTICIPATION = 500;

/** Live leases in one project, all holders together. */
export const MAX_LEASES_PER_PROJECT = 5000;

/** Paths one `check_paths` call may ask about. */
export const MAX_CHECK_PATHS = 1000;

/** Leases a `check_paths` answer lists for one path; `more` counts the rest. */
export const MAX_LEASES_PER_PATH = 10;

/**
 * Leases a `check_paths` answer lists in all. Past it, each further covered path still lists
 * one lease (an exclusive one first), so a guard reading only `leases` is never told "free".
 */
export const MAX_LEASES_PER_ANSWER = 1000;

/**
 * The most a `check_paths` answer comes to, in bytes of JSON, when paths, surfaces and actors
 * are plain ASCII: each path echoed (with its count), and at most MAX_LEASES_PER_ANSWER leases
 * plus one a path after that, each of at most a 512-character surface, a 100-character actor
 * and its fixed fields. (Characters that take three bytes in UTF-8 can triple the text.)
 */
export const CHECK_PATHS_ANSWER_BYTES =
  MAX_CHECK_PATHS * (MAX_SURFACE_LENGTH + 48) +
  (MAX_LEASES_PER_ANSWER + MAX_CHECK_PATHS) * (MAX_SURFACE_LENGTH + 100 + 128);

/** Leases `who_holds` lists; `has_more` says there are others. */
export const MAX_LEASES_LISTED = 500;

/** Expired leases one grant weighs for taking over; older ones wait for pruning. */
export const MAX_EXPIRED_WEIGHED = 200;

/**
 * Matching work one request may do, in units of the work counter (src/leases/work.ts): at most
 * a few tens of milliseconds of CPU (bench/matching.ts measures it); ordinary requests use a small
 * fraction of it. Past it, answers assume overlap.
 */
export const REQUEST_WORK = 4_000_000;

/** Work one comparison of two surfaces may do (about a millisecond); past it, overlap assumed. */
export const MAX_COMPARISON_WORK = 200_000;

/**
 * Work one request does before it lets the event loop turn, when it weighs many surfaces (a
 * fraction of a millisecond): only one such slice runs per turn, in the whole process.
 */
export const WORK_SLICE = 50_000;

/** Memory the compiled surfaces kept between requests may take, in bytes (an estimate). */
export const SURFACE_CACHE_WEIGHT = 64 * 2 ** 20;
