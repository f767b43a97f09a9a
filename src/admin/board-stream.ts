import { loadSnapshot } from './board.js';
import { streamSections } from './live.js';
import { requireProject } from './project-page.js';
import type { OwnerCall } from './types.js';

// The board's Server-Sent Events (live.ts): its sections, re-rendered whenever the ledger moves.

export async function boardEvents(c: OwnerCall): Promise<void> {
  const project = await requireProject(c);
  await streamSections(
    c,
    project.id,
    'board',
    async () => (await loadSnapshot(c.deps.db, c.session.ownerId, project.id))?.snapshot,
  );
}
