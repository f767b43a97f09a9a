import { migrateDirectly, openDatabase } from '../db/open.js';
import { cliConfig, cliLogger, parse, type Verb } from './common.js';

export const migrate: Verb = {
  name: 'migrate',
  usage:
    'baton migrate\n\nApplies every pending migration in one transaction under an advisory lock.',
  async run(argv) {
    parse(migrate, argv, {}, { min: 0, max: 0 });
    const config = cliConfig();
    const log = cliLogger(config);
    const database = await openDatabase(config, log, { schema: 'none' });
    try {
      const { applied } = await migrateDirectly(database.directUrl, config.preparedStatements, log);
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
