// Types of files.mjs for `baton kit install`, which writes through the same module as the hooks.

export class Refused extends Error {}

export function inspectInside(base: string, rel: string): 'absent' | 'file';

export function appendInside(base: string, rel: string, text: string): void;

export function writeInside(
  base: string,
  rel: string,
  content: string,
  mode?: number,
): 'wrote' | 'updated' | undefined;
