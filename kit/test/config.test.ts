import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HOOKS } from './helpers.js';

// baton.config.json as the hooks read it: globs, the number in a file name, renumbering, and
// validation that names every problem. The hooks are plain JavaScript; this loads the shipped
// module itself.

const config = await import(path.join(HOOKS, 'lib', 'config.mjs'));

function matches(glob: string, paths: string[]): string[] {
  const re: RegExp = config.compileGlob(glob);
  return paths.filter((p) => re.test(p));
}

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
