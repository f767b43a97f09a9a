import net from 'node:net';
import { createLogger } from '../log.js';
import { setupBlock } from '../auth/setup.js';
import { isWorker, runWorker, startWorkers, type Served } from '../cluster.js';
import { urlOf } from '../config.js';
import { startBaton } from '../main.js';
import { cliConfig, parse, type Verb } from './common.js';
import { recordServer } from './server-record.js';

const SHUTDOWN_DEADLINE_MS = 4_500;

export const serve: Verb = {
  name: 'serve',
  usage:
    'baton serve\n\nServes MCP at $PUBLIC_URL/mcp. Without DATABASE_URL it runs an embedded PostgreSQL in $BATON_DATA_DIR.',
  async run(argv) {
    parse(serve, argv, {}, { min: 0, max: 0 });
    const config = cliConfig();
    const log = createLogger(config.logLevel);
    if (isWorker()) return runWorker(config, log);
    // Before any database work: on a taken port, a first start would otherwise create and
    // migrate a data directory only to fail at listen and leave it behind.
    await assertPortFree(config.host, config.port);
    const baton: Served =
      config.workers > 1 ? await startWorkers(config, log) : await startBaton(config, log);
    const publicUrl = config.publicUrlSet
      ? config.publicUrl
      : urlOf(config.host, baton.address.port);
    // Best effort: a server that cannot write the record still serves; the verbs then print
    // the URL HOST and PORT make.
    const forget = baton.database.embedded
      ? await recordServer(config.dataDir, publicUrl).catch((err: unknown) => {
          log.warn({ reason: String(err) }, 'could not record the server in its data directory');
          return async () => {};
        })
      : async () => {};
    log.info(
      {
        url: `${publicUrl}/mcp`,
        port: baton.address.port,
        embedded: Boolean(baton.database.embedded),
        workers: config.workers,
      },
      'Baton is ready',
    );
    if (baton.bootstrap) printBootstrap(publicUrl, baton.bootstrap.token);

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info({ signal }, 'shutting down');
        // Whatever happens, the process is gone within 5 s (spec §5).
        setTimeout(() => {
          log.error('shutdown took too long; exiting');
          process.exit(1);
        }, SHUTDOWN_DEADLINE_MS).unref();
        forget()
          .catch(() => {})
          .then(() => baton.close())
          .then(resolve, (err: unknown) => {
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
      `Web admin: ${publicUrl}/admin (sign in with: npx baton admin-link admin@localhost)`,
      '',
    ].join('\n'),
  );
}

async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        err.code === 'EADDRINUSE'
          ? new Error(
              `port ${port} on ${host} is already in use (another Baton?); stop that server, or start this one with another PORT`,
            )
          : err,
      ),
    );
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve()));
  });
}
