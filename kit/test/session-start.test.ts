import { describe, expect, it } from 'vitest';
import { useTestBaton } from '../../test/helpers/baton.js';
import { makeRepo, sessionStart, participant } from './helpers.js';

// The SessionStart hook: the session begins with the whats_new digest as context, and nothing is
// advanced or delivered on the agent's behalf, since the hook cannot know the model read it.

const baton = useTestBaton();

const who = (project: string, label: string) => participant(baton, project, label);

function contextOf(stdout: string): string {
  const out = JSON.parse(stdout);
  expect(out.hookSpecificOutput.hookEventName).toBe('SessionStart');
  return out.hookSpecificOutput.additionalContext as string;
}

describe('session start', () => {
  it('adds the whats_new digest as context and advances nothing the agent has not seen', async () => {
    const ana = await who('ss-digest', 'ana');
    const bo = await who('ss-digest', 'bo');
    await bo.api('claim', { sequence: 'adr', ref: 'docs/adr/0001-caching.md' });
    await bo.api('lease', { surface: 'src/db/**' });
    const post = await bo.api('post', {
      to_actor: ana.actor,
      subject: 'Review ADR 1',
      body: 'Caching: please review before Friday.',
      ref: 'docs/adr/0001-caching.md',
    });
    const repo = makeRepo();

    const r = await sessionStart(repo, ana);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    const context = contextOf(r.stdout);
    expect(context).toMatch(`you are ${ana.actor} in project "ss-digest"`);
    expect(context).toMatch(
      `post ${post.body.post_id} from ${bo.actor}: "Review ADR 1" (ref docs/adr/0001-caching.md)`,
    );
    expect(context).toMatch(`claim by ${bo.actor}`);
    expect(context).toMatch('sequence adr');
    expect(context).toMatch(`lease by ${bo.actor}`);
    expect(context).toMatch('shown without moving your cursor: call whats_new to mark them read');

    // The cursor has not moved: the agent's own first whats_new returns every event shown.
    const shownSeqs = [...context.matchAll(/^- (\d+) \w+ by /gm)].map((m) => Number(m[1]));
    expect(shownSeqs.length).toBeGreaterThanOrEqual(3);
    const first = await ana.api('whats_new', {});
    expect(first.body.events.map((e: { seq: number }) => e.seq)).toEqual(shownSeqs);
    // Nor was the post delivered or acknowledged for ana.
    const sent = await bo.api('read_posts', { sent: true });
    expect(sent.body.posts[0].receipts).toEqual({
      delivered: [],
      acked: [],
      not_acked: [ana.actor],
    });

    // Once the agent has called whats_new itself, the next session starts with nothing new.
    const later = contextOf((await sessionStart(repo, ana)).stdout);
    expect(later).toMatch('Nothing new in the ledger after your cursor `default`');
    expect(later).toMatch('unacknowledged post');
  });

  it('keeps the context within what Claude Code accepts and says when there is more', async () => {
    const ana = await who('ss-many', 'ana');
    const bo = await who('ss-many', 'bo');
    for (let i = 0; i < 45; i++) {
      await bo.api('claim', {
        sequence: 'adr',
        ref: `docs/adr/${'x'.repeat(300)}-${i}.md`,
        note: 'n'.repeat(400),
      });
    }
    const context = contextOf((await sessionStart(makeRepo(), ana)).stdout);
    expect(context.length).toBeLessThanOrEqual(9000);
    expect(context).toMatch(/and \d+ more not shown here/);
    expect(context).toMatch('and to see the events after them');
  });

  it('tells a participant with nothing waiting just that', async () => {
    const cy = await who('ss-quiet', 'cy');
    const context = contextOf((await sessionStart(makeRepo(), cy)).stdout);
    expect(context).toMatch('Nothing is waiting for you.');
  });
});
