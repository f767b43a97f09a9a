import { DEFAULT_RETENTION, prune, type RetentionPolicy } from '../db/prune.js';
import { parse, UsageError, type Verb } from './common.js';
import { withServerDatabase } from './database.js';

const FLAGS: Record<string, { key: keyof RetentionPolicy; max: number }> = {
  'lease-hours': { key: 'expiredLeaseHours', max: 87_600 },
  'presence-days': { key: 'presenceDays', max: 3650 },
  'invite-days': { key: 'inviteDays', max: 3650 },
  'session-days': { key: 'sessionDays', max: 3650 },
};

export const pruneVerb: Verb = {
  name: 'prune',
  usage:
    'baton prune [--dry-run] [--lease-hours N] [--presence-days N] [--invite-days N] [--session-days N]\n\n' +
    `Defaults: leases expired ${DEFAULT_RETENTION.expiredLeaseHours} h ago, presence unseen ${DEFAULT_RETENTION.presenceDays} days, ` +
    `invites finished ${DEFAULT_RETENTION.inviteDays} days ago, sessions ended or idle ${DEFAULT_RETENTION.sessionDays} days.\n` +
    'The ledger, claims, posts and tasks are never pruned.',
  async run(argv) {
    const a = parse(
      pruneVerb,
      argv,
      {
        'dry-run': { type: 'boolean' },
        ...Object.fromEntries(Object.keys(FLAGS).map((f) => [f, { type: 'string' as const }])),
      },
      { min: 0, max: 0 },
    );
    const policy: RetentionPolicy = { ...DEFAULT_RETENTION };
    for (const [flag, { key, max }] of Object.entries(FLAGS)) {
      const v = a.values[flag];
      if (v === undefined) continue;
      if (typeof v !== 'string' || !/^\d+$/.test(v) || Number(v) > max) {
        throw new UsageError(`--${flag} takes a whole number from 0 to ${max}`);
      }
      policy[key] = Number(v);
    }
    return withServerDatabase(async (db) => {
      const counts = await prune(db, policy, {
        dryRun: Boolean(a.values['dry-run']),
      });
      if (!counts) {
        process.stderr.write('baton prune: another prune is running; nothing done\n');
        return 1;
      }
      const verb = a.values['dry-run'] ? 'would remove' : 'removed';
      process.stdout.write(
        `${verb}: ${counts.expired_leases} expired lease(s), ${counts.presence} stale status line(s), ` +
          `${counts.invites} finished invite(s), ${counts.sessions} idle session(s)\n`,
      );
      return 0;
    });
  },
};
