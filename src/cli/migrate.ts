import { openDatabase } from '../db/open.js';
import { migrateToLatest } from '../db/migrate.js';
import { cliConfig, cliLogger, parse, type Verb } from './common.js';

export const migrate: Verb = {
  name: 'migrate',
  summary: 'apply pending database migrations (npm run migrate)',
  usage:
    'baton migrate\n\nApplies every pending migration in one transaction under an advisory lock.',
  async run(argv) {
    parse(migrate, argv, {}, { min: 0, max: 0 });
    const config = cliConfig();
    const database = await openDatabase(config, cliLogger(config), { schema: 'none' });
    try {
      const { applied } = await migrateToLatest(database.storage.db);
      process.stdout.write(
        applied.length
          ? `applied ${applied.length} migration(s): ${applied.join(', ')}\n`
          : 'the database schema is already current\n',
      );
      return 0;
    } finally {
      await database.close();
    }
  },
};
