import { createLogger } from '../log.js';
import { setupBlock } from '../auth/setup.js';
import { isWorker, runWorker, startWorkers, type Served } from '../cluster.js';
import { startBaton } from '../main.js';
import { cliConfig, parse, type Verb } from './common.js';

const SHUTDOWN_DEADLINE_MS = 4_500;

export const serve: Verb = {
  name: 'serve',
  summary: 'run the Baton server (npm start)',
  usage:
    'baton serve\n\nServes MCP at $PUBLIC_URL/mcp. Without DATABASE_URL it runs an embedded PostgreSQL in $BATON_DATA_DIR.',
  async run(argv) {
    parse(serve, argv, {}, { min: 0, max: 0 });
    const config = cliConfig();
    const log = createLogger(config.logLevel);
    if (isWorker()) return runWorker(config, log);
    const baton: Served =
      config.workers > 1 ? await startWorkers(config, log) : await startBaton(config, log);
    log.info(
      {
        url: `${config.publicUrl}/mcp`,
        port: baton.address.port,
        embedded: Boolean(baton.database.embedded),
        workers: config.workers,
      },
      'Baton is ready',
    );
    if (baton.bootstrap) printBootstrap(config.publicUrl, baton.bootstrap.token);

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        // Whatever happens, the process is gone within 5 s (spec §5).
        setTimeout(() => {
          log.error('shutdown took too long; exiting');
          process.exit(1);
        }, SHUTDOWN_DEADLINE_MS).unref();
        baton.close().then(resolve, (err: unknown) => {
          log.error({ err }, 'error during shutdown');
          resolve();
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};

function printBootstrap(publicUrl: string, token: string): void {
  const s = setupBlock(publicUrl, token);
  process.stdout.write(
    [
      '',
      'First start: created owner admin@localhost (handle "admin"), project "default" and admin participant "lead".',
      'The token of admin/lead is shown this once. Keep it somewhere safe:',
      '',
      `  ${token}`,
      '',
      'Connect Claude Code:',
      `  ${s.claude_mcp_add}`,
      '',
      'Or put this in .mcp.json:',
      JSON.stringify(s.mcp_json, null, 2).replace(/^/gm, '  '),
      '',
      `MCP URL: ${s.mcp_url}`,
      `Web admin: ${publicUrl}/admin (sign in with: npm run admin-link -- admin@localhost)`,
      '',
    ].join('\n'),
  );
}
