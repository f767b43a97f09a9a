import { describe, expect, it } from 'vitest';
import {
  Budget,
  modesConflict,
  overlaps,
  parsePath,
  parseSurface,
  SurfaceError,
} from '../src/leases/overlap.js';
import { compileGlob, compileLiteral, intersects } from '../src/leases/wildmatch.js';

// The overlap rules, pinned pair by pair; then the glob engine checked against an independent
// reading of wildmatch (a regular expression per pattern) over every short path.

const PAIRS: [string, string, boolean, string][] = [
  ['src/db/pool.ts', 'src/db/pool.ts', true, 'the same path'],
  ['src/db/pool.ts', 'src/db/pool.tsx', false, 'paths that only look alike'],
  ['src/db', 'src/dbx', false, 'a name that is a prefix of another'],
  ['src/db.ts', 'src/db.ts.bak', false, 'a file name that is a prefix of another'],
  ['Src/a.ts', 'src/a.ts', false, 'case matters'],
  ['src/db', 'src/db/pool.ts', false, 'a path without "/" is a file, not a directory'],
  ['src/db/', 'src/db/pool.ts', true, 'a trailing "/" covers everything inside'],
  ['src/db/', 'src/db/a/b/c.ts', true, 'a directory covers every depth'],
  ['src/db/', 'src/dbx/pool.ts', false, 'a directory does not cover its look-alike sibling'],
  ['src/db/', 'src/db', true, 'a directory covers itself'],
  ['src/db/', 'src/db/', true, 'the same directory'],
  ['src/', 'src/db/', true, 'nested directories'],
  ['src/**', 'src/db/pool.ts', true, '** crosses directories'],
  ['src/**', 'lib/db/pool.ts', false, '** stays under its prefix'],
  ['src/**', 'src', false, 'src/** is what is inside src, not src itself'],
  ['src/**', 'src/', true, 'a directory and everything inside it'],
  ['src/**', 'lib/**', false, 'disjoint trees'],
  ['src/**', 'src/db/**', true, 'nested globs'],
  ['src/*', 'src/db/pool.ts', false, '* does not cross "/"'],
  ['src/*', 'src/index.ts', true, '* matches within a segment'],
  ['*', 'README.md', true, '* at the top level'],
  ['*', 'src/a.ts', false, '* at the top level does not reach into directories'],
  ['src/*.ts', 'src/*.js', false, 'different extensions never meet'],
  ['src/*.ts', 'src/a*', true, 'two globs that both match src/a.ts'],
  ['x/**.ts', 'x/a/b.ts', false, '** inside a segment is a plain *'],
  ['x/**.ts', 'x/b.ts', true, '** inside a segment matches within it'],
  ['**/*.ts', 'pool.ts', true, '**/ may match no directory'],
  ['**/*.ts', 'docs/readme.md', false, 'the extension still has to match'],
  ['src/**/pool.ts', 'src/pool.ts', true, '/**/ may match no directory'],
  ['src/**/pool.ts', 'src/a/b/pool.ts', true, '/**/ matches many directories'],
  ['src/**/test/*.ts', 'src/**/lib/*.ts', false, 'two globstars that can never end alike'],
  ['src/**/test/*.ts', 'src/**/a.ts', true, 'two globstars that can'],
  ['a/**/b', 'a/b', true, 'a/**/b against a/b'],
  ['src/?.ts', 'src/a.ts', true, '? is one character'],
  ['src/?.ts', 'src/ab.ts', false, '? is exactly one character'],
  ['a?b', 'a/b', false, '? does not match "/"'],
  ['src/[abc].ts', 'src/b.ts', true, 'a character class'],
  ['src/[abc].ts', 'src/d.ts', false, 'a character class that excludes'],
  ['src/[!abc].ts', 'src/a.ts', false, 'a negated class'],
  ['src/[^abc].ts', 'src/[d-f].ts', true, 'a negated class against a range'],
  ['src/[a-c]*.ts', 'src/[x-z]*.ts', false, 'disjoint ranges'],
  ['src/[[:digit:]]*', 'src/9.ts', true, 'a POSIX class'],
  ['src/[[:digit:]]*', 'src/x.ts', false, 'a POSIX class that excludes'],
  ['a[/]b', 'a/b', false, 'a class never matches "/"'],
  ['app/[id]/page.tsx', 'app/i/page.tsx', true, 'brackets read as a class'],
  ['app/[id]/', 'app/[id]/page.tsx', true, 'brackets read literally, as a real directory name'],
  ['app/[id]/page.tsx', 'app/[slug]/page.tsx', false, 'two bracketed directory names'],
  ['docs/adr/*.md', 'docs/adr/0001-record.md', true, 'an ADR glob'],
  ['docs/?.md', 'docs/😀.md', true, '? is one character, even beyond the BMP'],
  ['docs/??.md', 'docs/😀.md', false, 'an emoji is one character, not two'],
  ['docs/[à-ï]té.md', 'docs/été.md', true, 'ranges of non-ASCII characters'],
  ['**', 'any/path/at/all', true, '** covers every path'],
  ['lane:docs', 'lane:docs', true, 'the same lane'],
  ['lane:docs', 'lane:docs-2', false, 'lanes that only look alike'],
  ['lane:docs', 'docs', false, 'a lane is not a path'],
  ['lane:docs', '**', false, 'no glob covers a lane'],
  ['lane:docs', 'lane*', false, 'a glob that spells a lane is still a path'],
];

describe('surface overlap', () => {
  it.each(PAIRS)('%s × %s → %s (%s)', (a, b, expected) => {
    const sa = parseSurface(a);
    const sb = parseSurface(b);
    expect(overlaps(sa, sb)).toBe(expected);
    expect(overlaps(sb, sa)).toBe(expected); // symmetric
  });

  it('pins at least 25 pairs of both answers', () => {
    expect(PAIRS.filter((p) => p[2]).length).toBeGreaterThanOrEqual(25);
    expect(PAIRS.filter((p) => !p[2]).length).toBeGreaterThanOrEqual(20);
  });

  it('exclusive conflicts with everything, shared only with exclusive', () => {
    expect(modesConflict('exclusive', 'exclusive')).toBe(true);
    expect(modesConflict('exclusive', 'shared')).toBe(true);
    expect(modesConflict('shared', 'exclusive')).toBe(true);
    expect(modesConflict('shared', 'shared')).toBe(false);
  });

  it('reads a concrete path literally', () => {
    const path = parsePath('app/[id]/page.tsx');
    expect(overlaps(parseSurface('app/[id]/page.tsx'), path)).toBe(true);
    expect(overlaps(parseSurface('app/[id]/'), path)).toBe(true);
    expect(overlaps(parseSurface('app/*/page.tsx'), path)).toBe(true);
    expect(overlaps(parseSurface('app/i/page.tsx'), path)).toBe(false);
    expect(overlaps(parseSurface('src/**'), parsePath('src/db/pool.ts'))).toBe(true);
    expect(overlaps(parseSurface('src/db/'), parsePath('src/db'))).toBe(true);
    expect(overlaps(parseSurface('lane:docs'), parsePath('lane:docs'))).toBe(true);
    expect(() => parsePath('src/*.ts')).toThrow(/who_holds/);
  });

  it.each([
    ['', /1–512/],
    ['x'.repeat(513), /1–512/],
    ['/etc/passwd', /leading "\/"/],
    ['src/../secret', /"\." and "\.\." segments/],
    ['./src/a.ts', /"\." and "\.\." segments/],
    ['src//a.ts', /empty segment/],
    ['src\\a.ts', /"\/"/],
    ['src/a\u0000.ts', /control character/],
    ['src/a\n.ts', /control character/],
    ['src/\ud800.ts', /lone surrogate/],
    ['src/[abc.ts', /no closing "]"/],
    ['src/[[:word:]]', /unknown character class \[:word:\]/],
    ['lane:Docs', /lane surface/],
    ['lane:', /lane surface/],
    ['lane:*', /lane surface/],
  ])('refuses %j with a message that says what to fix', (text, message) => {
    expect(() => parseSurface(text)).toThrow(SurfaceError);
    expect(() => parseSurface(text)).toThrow(message);
  });

  it('answers "overlaps" once a request has spent its matching budget', () => {
    // The classic glob whose DFA is exponential, against a long path it does not match.
    const hostile = () => parseSurface(`*a${'?'.repeat(20)}`);
    const path = parsePath('ab'.repeat(30));
    expect(overlaps(hostile(), path, new Budget(Number.POSITIVE_INFINITY))).toBe(false);
    const small = new Budget(2_000);
    expect(overlaps(hostile(), path, small)).toBe(true);
    expect(small.left).toBeLessThan(0);
    // Once spent, it stays spent for the rest of the request: no further work is done, so even
    // a question its prefix would settle is answered "overlaps". Lanes need no matching.
    expect(overlaps(parseSurface('x/**'), parsePath('y/z'), small)).toBe(true);
    expect(overlaps(parseSurface('**/x'), parsePath('y/z'), small)).toBe(true);
    expect(overlaps(parseSurface('lane:a'), parseSurface('lane:b'), small)).toBe(false);
    expect(overlaps(parseSurface('lane:a'), parseSurface('lane:a'), small)).toBe(true);
    // It never goes more than one unit past its limit: refused work is not done.
    expect(small.spent).toBe(2_001);
  });

  it('caps glob complexity, counting a run of consecutive ** once', () => {
    const chain = parseSurface(`${'**/'.repeat(169)}x1`);
    expect(chain.text).toHaveLength(509);
    expect(chain.pattern).toMatchObject({ globstars: 1, wildcards: 1 });
    expect(parseSurface(`a/${'**/b/'.repeat(8)}x`).pattern?.globstars).toBe(8);
    expect(() => parseSurface(`a/${'**/b/'.repeat(9)}x`)).toThrow(
      /at most 8 `\*\*` segments \(consecutive ones count once\); this one has 9/,
    );
    expect(parseSurface('*a'.repeat(32)).pattern?.wildcards).toBe(32);
    expect(() => parseSurface('*a'.repeat(33))).toThrow(/at most 32 wildcards .*this one has 33/);
    expect(() => parseSurface('[a]?'.repeat(17))).toThrow(/at most 32 wildcards/);
    // A chain of ** costs what one does: a product of two such globs is a handful of states.
    const work = new Budget(Number.POSITIVE_INFINITY);
    expect(overlaps(chain, parseSurface(`${'**/'.repeat(169)}xq`), work)).toBe(false);
    expect(overlaps(chain, parseSurface(`${'**/'.repeat(100)}*1`), work)).toBe(true);
    expect(work.spent).toBeLessThan(5_000); // uncollapsed, compiling one of them costs more
  });

  it('accepts a surface of exactly 512 characters', () => {
    expect(parseSurface('a'.repeat(512)).text).toHaveLength(512);
  });
});

// An independent reading of git's wildmatch (WM_PATHNAME): each pattern as a JS regular
// expression. The automaton must agree with it on every path over a small alphabet.
function referenceRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i] as string;
    if (c === '*') {
      let j = i;
      while (pattern[j] === '*') j++;
      const whole =
        j - i >= 2 &&
        (i === 0 || pattern[i - 1] === '/') &&
        (j === pattern.length || pattern[j] === '/');
      if (!whole) re += '[^/]*';
      else if (j === pattern.length) re += '.*';
      else {
        re += '(?:.*/)?';
        j++;
      }
      i = j;
    } else if (c === '?') {
      re += '[^/]';
      i++;
    } else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith('!');
      if (negate) body = body.slice(1);
      re += `(?![/])[${negate ? '^' : ''}${body.replace(/[\]\\^]/g, '\\$&')}]`;
      i = close + 1;
    } else {
      re += c.replace(/[.+^${}()|\\]/g, '\\$&');
      i++;
    }
  }
  return new RegExp(`^${re}$`);
}

const ALPHABET = ['a', 'b', '/'];
function* strings(maxLength: number): Generator<string> {
  yield '';
  let level = [''];
  for (let n = 1; n <= maxLength; n++) {
    level = level.flatMap((s) => ALPHABET.map((c) => s + c));
    yield* level;
  }
}
const SHORT_STRINGS = [...strings(6)];

const PATTERNS = [
  'a',
  'a/b',
  '*',
  'a*',
  '*b',
  '?',
  'a?',
  '**',
  'a/**',
  '**/b',
  'a/**/b',
  'a**',
  '**a',
  '*/*',
  '[ab]',
  '[!a]',
  'a/[!b]*',
  '**/a/*',
  'a*/b*',
  '*/**/*',
  // Consecutive globstars are collapsed before compiling; the reference reads each one.
  '**/**',
  '**/**/b',
  'a/**/**/b',
  'a/**/**',
];

describe('wildmatch automaton', () => {
  it('matches exactly the paths the reference matches', () => {
    for (const pattern of PATTERNS) {
      const glob = compileGlob(pattern);
      const re = referenceRegex(pattern);
      for (const s of SHORT_STRINGS) {
        expect([pattern, s, intersects(glob, compileLiteral(s))]).toEqual([pattern, s, re.test(s)]);
      }
    }
  });

  it('never answers "disjoint" for two globs that share a short path', () => {
    for (const p of PATTERNS) {
      for (const q of PATTERNS) {
        const rp = referenceRegex(p);
        const rq = referenceRegex(q);
        const witness = SHORT_STRINGS.find((s) => rp.test(s) && rq.test(s));
        const answer = intersects(compileGlob(p), compileGlob(q));
        if (witness !== undefined) expect([p, q, answer]).toEqual([p, q, true]);
        // And a "yes" is backed by a real path (these patterns are short enough to have one).
        else expect([p, q, answer]).toEqual([p, q, false]);
      }
    }
  });
});

describe('overlaps() against the reference', () => {
  // Directories too: `p/` covers what p matches and everything below it.
  const SURFACES = PATTERNS.flatMap((p) => [p, `${p}/`]);
  const reference = (s: string) => {
    const dir = s.endsWith('/');
    const re = referenceRegex(dir ? s.slice(0, -1) : s);
    return (path: string) =>
      re.test(path) || (dir && [...path].some((c, i) => c === '/' && re.test(path.slice(0, i))));
  };

  it('says "overlaps" whenever some short path is covered by both surfaces', () => {
    for (const p of SURFACES) {
      for (const q of SURFACES) {
        const rp = reference(p);
        const rq = reference(q);
        const witness = SHORT_STRINGS.find((s) => s !== '' && rp(s) && rq(s));
        if (witness !== undefined) {
          expect([p, q, witness, overlaps(parseSurface(p), parseSurface(q))]).toEqual([
            p,
            q,
            witness,
            true,
          ]);
        }
      }
    }
  });

  it('agrees with the reference on every short concrete path', () => {
    const paths = SHORT_STRINGS.filter(
      (s) => s !== '' && !s.startsWith('/') && !s.split('/').includes(''),
    );
    for (const p of SURFACES) {
      const surface = parseSurface(p);
      const rp = reference(p);
      for (const path of paths) {
        expect([p, path, overlaps(surface, parsePath(path))]).toEqual([p, path, rp(path)]);
      }
    }
  });
});
