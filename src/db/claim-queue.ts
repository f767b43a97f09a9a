import { toAppError } from '../errors.js';
import { claimNumbers, MAX_CLAIM_BATCH, type NewClaim, type RecordedClaim } from './claims.js';
import type { Db } from './pool.js';

// Claims on one sequence cannot overlap in the database: each holds the sequence row from its
// bump to its commit, and a durable commit waits for the WAL flush. So when many agents claim on
// one sequence at once, this process sends one statement at a time per sequence, and the claims
// that arrived meanwhile go together in the next one: one row lock, one commit and one flush for
// all of them, each still with its own number, claim row and ledger event. A lone claim goes out
// at once, alone. Other processes on the same database do the same; the row lock orders them.

interface Waiting {
  claim: NewClaim;
  resolve: (row: RecordedClaim) => void;
  reject: (err: unknown) => void;
}

interface Lane {
  projectId: string;
  sequence: string;
  waiting: Waiting[];
}

export class ClaimQueue {
  private readonly lanes = new Map<string, Lane>();

  constructor(
    private readonly db: Db,
    private readonly maxBatch = MAX_CLAIM_BATCH,
  ) {}

  claim(projectId: string, sequence: string, claim: NewClaim): Promise<RecordedClaim> {
    const key = `${projectId}:${sequence}`;
    return new Promise((resolve, reject) => {
      const lane = this.lanes.get(key);
      if (lane) {
        lane.waiting.push({ claim, resolve, reject });
        return;
      }
      const fresh: Lane = { projectId, sequence, waiting: [{ claim, resolve, reject }] };
      this.lanes.set(key, fresh);
      void this.drain(key, fresh);
    });
  }

  private async drain(key: string, lane: Lane): Promise<void> {
    try {
      while (lane.waiting.length > 0) {
        await this.send(lane, lane.waiting.splice(0, this.maxBatch));
      }
    } finally {
      this.lanes.delete(key);
    }
  }

  private async send(lane: Lane, batch: Waiting[]): Promise<void> {
    try {
      const rows = await claimNumbers(
        this.db,
        lane.projectId,
        lane.sequence,
        batch.map((w) => w.claim),
      );
      batch.forEach((w, i) => w.resolve(rows[i] as RecordedClaim));
    } catch (err) {
      // Nothing of the batch was written. With the database away, every claim of it fails as
      // this one did; otherwise each is tried alone, so one claim cannot fail the others.
      if (batch.length === 1 || toAppError(err).code === 'unavailable') {
        for (const w of batch) w.reject(err);
        return;
      }
      for (const w of batch) await this.send(lane, [w]);
    }
  }
}
