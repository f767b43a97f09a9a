import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOOKS } from './helpers.js';

// baton.config.json as the hooks read it: globs, the number in a file name, renumbering, and
// validation that names every problem. The hooks are plain JavaScript; this loads the shipped
// module itself.

const config = await import(path.join(HOOKS, 'lib', 'config.mjs'));

function matches(glob: string, paths: string[]): string[] {
  const glob_ = config.compileGlob(glob);
  return paths.filter((p) => glob_.test(p));
}

/** A path `depth` directories deep, ending in `name`. */
const deep = (depth: number, dir: (i: number) => string, name: string) =>
  [...Array.from({ length: depth }, (_, i) => dir(i)), name].join('/');

describe('globs', () => {
  const tree = [
    'docs/adr/0001-a.md',
    'docs/adr/sub/0002-b.md',
    'docs/adr.md',
    'docs/adr/0003-c.txt',
    'migrations/0001_init.sql',
    'db/migrations/0002_more.sql',
    'a/b/db/migrations/0003_deep.sql',
    'db/7.sql',
    'db/x7.sql',
    'app/[id]/0001.md',
  ];

  it('keep * and ? within one directory', () => {
    expect(matches('docs/adr/*.md', tree)).toEqual(['docs/adr/0001-a.md']);
    expect(matches('db/?.sql', tree)).toEqual(['db/7.sql']);
  });

  it('let ** span any number of directories, including none', () => {
    expect(matches('**/migrations/*.sql', tree)).toEqual([
      'migrations/0001_init.sql',
      'db/migrations/0002_more.sql',
      'a/b/db/migrations/0003_deep.sql',
    ]);
    expect(matches('docs/adr/**', tree)).toEqual([
      'docs/adr/0001-a.md',
      'docs/adr/sub/0002-b.md',
      'docs/adr/0003-c.txt',
    ]);
  });

  it('read [...] and [!...] as classes and \\ as an escape', () => {
    expect(matches('db/[0-9].sql', tree)).toEqual(['db/7.sql']);
    expect(matches('db/[!0-9]*.sql', tree)).toEqual(['db/x7.sql']);
    expect(matches('app/\\[id]/*.md', tree)).toEqual(['app/[id]/0001.md']);
  });

  it('refuse what is not a relative glob', () => {
    expect(() => config.compileGlob('/docs/*.md')).toThrow(/no leading "\/"/);
    expect(() => config.compileGlob('docs//*.md')).toThrow(/empty segment/);
    expect(() => config.compileGlob('../docs/*.md')).toThrow(/"\." or "\.\."/);
    expect(() => config.compileGlob('docs/[ab.md')).toThrow(/without its "\]"/);
    expect(() => config.compileGlob('docs/[z-a].md')).toThrow(/backwards range "z-a"/);
    expect(() => config.compileGlob('docs/[[:digit:]]*.md')).toThrow(/POSIX class.*write \[0-9\]/);
  });

  it('read ranges, a leading "]" and a trailing "-" inside classes', () => {
    expect(matches('v[1-3]/[]x]/[a-]', ['v2/]/-', 'v2/x/a', 'v4/x/a', 'v1/y/a'])).toEqual([
      'v2/]/-',
      'v2/x/a',
    ]);
  });
});

// A backtracking RegExp spends time exponential in the number of "**" on a path it does not
// match (16–22 of them ran for seconds to minutes, beyond any watchdog's reach). The matcher's
// work is counted, and bounded by (glob segments + 1) × (path segments + 1) table cells plus,
// for each pair of segments compared, tokens × characters.
describe('glob matching work', () => {
  const thirtyStars = `${'**/'.repeat(30)}adr/*.md`;

  it('stays polynomial for 30 "**" against a path 20 directories deep', () => {
    const glob = config.compileGlob(thirtyStars);
    const miss = deep(20, (i) => `d${i}`, '0001-x.md');
    const hit = deep(19, (i) => `d${i}`, 'adr/0001-x.md');
    expect(glob.test(miss)).toBe(false);
    const missWork = glob.work;
    expect(glob.test(hit)).toBe(true);
    // 32 glob segments × 22 path segments = 704 cells, plus a few short segment comparisons.
    for (const work of [missWork, glob.work]) {
      expect(work).toBeGreaterThan(0);
      expect(work).toBeLessThanOrEqual(33 * 22 + 22 * 5 * 10);
    }
  });

  it('stays polynomial when the "**" alternate with wildcard segments and nothing matches', () => {
    // "**/*a*/**/*a*/…/b": every way of spreading 20 segments over the wildcards fails at the end.
    const glob = config.compileGlob(`${'**/*a*/'.repeat(19)}b`);
    const path20 = deep(19, () => 'aaaaaaaa', 'aaaaaaaa');
    expect(glob.test(path20)).toBe(false);
    // 39 segments × 21 = 819 cells; a "*a*" against "aaaaaaaa" is 4 tokens × 8 characters.
    expect(glob.work).toBeLessThanOrEqual(40 * 21 + 40 * 21 * 4 * 8);
  });

  it('limits a glob to 256 characters and 40 segments, and a config to 64 entries', () => {
    expect(() => config.compileGlob(`${'a'.repeat(250)}/*.md/x`)).toThrow(
      'is 257 characters; a glob has at most 256',
    );
    expect(() => config.compileGlob(`${'**/'.repeat(40)}x`)).toThrow(
      'has 41 segments; a glob has at most 40',
    );
    const many = Array.from({ length: 65 }, (_, i) => ({ glob: `d${i}/*.md`, sequence: 'adr' }));
    expect(() => config.validateConfig({ version: 1, sequences: many })).toThrow(
      'sequences: 65 entries; at most 64',
    );
    // The config's warning shows a long glob clipped, never the whole of it.
    expect(() =>
      config.validateConfig({ version: 1, sequences: [{ glob: 'x'.repeat(300), sequence: 'a' }] }),
    ).toThrow(/glob: "x{80}…" is 300 characters/);
  });

  it('stops a hook run at its total matching budget, failing open', async () => {
    // A module of its own, so the budget this spends is not shared with the tests above.
    const fresh = await import(`${path.join(HOOKS, 'lib', 'config.mjs')}?budget`);
    const { Unavailable } = await import(path.join(HOOKS, 'lib', 'hook.mjs'));
    const glob = fresh.compileGlob(`${'*a'.repeat(100)}*b`);
    const name = 'a'.repeat(250);
    let runs = 0;
    let stopped: unknown;
    try {
      for (; runs < 10_000; runs++) glob.test(name);
    } catch (err) {
      stopped = err;
    }
    expect(stopped).toBeInstanceOf(Unavailable);
    expect((stopped as Error).message).toMatch(
      `matching the globs of baton.config.json took more than ${fresh.MAX_MATCH_WORK} units of work`,
    );
    expect(fresh.matchWorkSpent()).toBeGreaterThan(fresh.MAX_MATCH_WORK);
    expect(fresh.matchWorkSpent()).toBeLessThan(fresh.MAX_MATCH_WORK + 2 * glob.work);
    expect(runs).toBeLessThan(10_000);
  });
});

describe('numbers in file names', () => {
  it('takes the first run of digits of the name, not of its directories', () => {
    expect(config.numberIn('docs/adr/0007-cache-v2.md')).toEqual({ number: 7, digits: '0007' });
    expect(config.numberIn('v2/adr/x-12-y3.md')).toEqual({ number: 12, digits: '12' });
    expect(config.numberIn('docs/adr/README.md')).toBeUndefined();
    expect(config.numberIn('docs/adr/0000-template.md')).toBeUndefined();
    expect(config.numberIn('docs/adr/1234567890123-x.md')).toBeUndefined();
  });

  it('renumbers keeping the padding, and grows past it', () => {
    expect(config.renumber('docs/adr/0007-x.md', '0007', 12)).toBe('docs/adr/0012-x.md');
    expect(config.renumber('docs/adr/7-x.md', '7', 12)).toBe('docs/adr/12-x.md');
    expect(config.renumber('docs/adr/ADR-099.md', '099', 1000)).toBe('docs/adr/ADR-1000.md');
    expect(config.renumber('v2/0003_a.sql', '0003', 4)).toBe('v2/0004_a.sql');
  });
});

describe('validation', () => {
  it('accepts version 1 with a list of glob → sequence entries, first match winning', () => {
    const c = config.validateConfig({
      version: 1,
      $comment: 'ADRs and migrations',
      sequences: [
        { glob: 'docs/adr/*.md', sequence: 'adr' },
        { glob: 'docs/**/*.md', sequence: 'doc' },
      ],
    });
    expect(config.sequenceFor(c, 'docs/adr/0001-a.md').sequence).toBe('adr');
    expect(config.sequenceFor(c, 'docs/rfc/0001-a.md').sequence).toBe('doc');
    expect(config.sequenceFor(c, 'src/0001.ts')).toBeUndefined();
  });

  it('names every problem at once, each with what to write instead', () => {
    let message = '';
    try {
      config.validateConfig({ version: '1', sequences: [{ glob: '', sequence: 'a b' }, 'adr'] });
    } catch (err) {
      expect(err).toBeInstanceOf(config.ConfigError);
      message = (err as Error).message;
    }
    expect(message.split('; ')).toEqual([
      'baton.config.json: version: this kit reads version 1, not "1"',
      'sequences[0].glob: required, a non-empty glob such as "docs/adr/*.md"',
      'sequences[0].sequence: required, 1–64 characters of a-z, 0-9, ".", "_" and "-" (e.g. "adr")',
      'sequences[1]: must be an object {"glob": ..., "sequence": ...}',
    ]);
    expect(() => config.validateConfig([])).toThrow(/must be a JSON object/);
  });
});
