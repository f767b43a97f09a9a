import { issueSignInLink, LINK_TTL_SECONDS } from '../auth/links.js';
import { loadKeys } from '../auth/secret.js';
import { parse, type Verb } from './common.js';
import { withServerDatabase } from './database.js';
import { publicUrlOf } from './server-record.js';

// `baton admin-link <email>`: a one-time sign-in URL for the web admin. The URL alone goes to
// stdout, so scripts can capture it; the note on how long it lasts goes to stderr.

export const adminLink: Verb = {
  name: 'admin-link',
  usage:
    'baton admin-link <email>\n\n' +
    `Prints a URL that signs the owner with this email in to $PUBLIC_URL/admin once, within ${LINK_TTL_SECONDS / 60} minutes.\n` +
    'The owner must exist (npx baton bootstrap-owner <email> creates one).',
  async run(argv) {
    const a = parse(adminLink, argv, {}, { min: 1, max: 1 });
    const email = a.positionals[0] as string;
    return withServerDatabase(async (db, config) => {
      const link = await issueSignInLink(
        db,
        await loadKeys(db, config),
        await publicUrlOf(config),
        email,
      );
      process.stdout.write(`${link.url}\n`);
      process.stderr.write(
        `sign-in link for ${link.owner.handle} (${link.owner.email}); it works once, until ${link.expiresAt.toISOString()}\n`,
      );
      return 0;
    });
  },
};
