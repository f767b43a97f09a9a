import { ensureOwner } from '../auth/provision.js';
import { seedToken } from '../access/seed.js';
import { setupBlock } from '../auth/setup.js';
import { parse, UsageError, type Verb } from './common.js';
import { withServerDatabase } from './database.js';
import { publicUrlOf } from './server-record.js';

export const bootstrapOwner: Verb = {
  name: 'bootstrap-owner',
  usage:
    'baton bootstrap-owner <email> [--handle h]\n\nCreates the owner unless it exists. The handle defaults to one derived from the email.',
  async run(argv) {
    const a = parse(bootstrapOwner, argv, { handle: { type: 'string' } }, { min: 1, max: 1 });
    const email = a.positionals[0] as string;
    const handle = a.values.handle as string | undefined;
    return withServerDatabase(async (db) => {
      const { owner, created } = await ensureOwner(db, email, handle);
      process.stdout.write(
        `${created ? 'created' : 'exists'}: owner ${owner.email} with handle ${owner.handle}\n`,
      );
      return 0;
    });
  },
};

export const seedTokenVerb: Verb = {
  name: 'seed-token',
  usage:
    'baton seed-token <email> <project-slug> <participant> [--kind agent|human] [--admin] [--json]\n\n' +
    'Creates the owner, project, participant and participation when missing, mints a token and prints it once.\n' +
    '--json prints one object {token, actor, project, participant, mcp_url} and nothing else on stdout.',
  async run(argv) {
    const a = parse(
      seedTokenVerb,
      argv,
      { kind: { type: 'string' }, admin: { type: 'boolean' }, json: { type: 'boolean' } },
      { min: 3, max: 3 },
    );
    const kind = a.values.kind ?? 'agent';
    if (kind !== 'agent' && kind !== 'human') throw new UsageError('--kind must be agent or human');
    const [email, projectSlug, label] = a.positionals as [string, string, string];
    return withServerDatabase(async (db, config) => {
      const publicUrl = await publicUrlOf(config);
      const r = await seedToken(db, {
        email,
        projectSlug,
        label,
        kind,
        admin: Boolean(a.values.admin),
      });
      const setup = setupBlock(publicUrl, r.token);
      if (a.values.json) {
        process.stdout.write(
          JSON.stringify({
            token: r.token,
            actor: r.actor,
            project: r.project,
            participant: r.participant,
            mcp_url: setup.mcp_url,
          }) + '\n',
        );
      } else {
        process.stdout.write(
          [
            `token for ${r.actor} in project ${r.project} (shown once):`,
            `  ${r.token}`,
            `MCP URL: ${setup.mcp_url}`,
            `Claude Code: ${setup.claude_mcp_add}`,
            '',
          ].join('\n'),
        );
      }
      return 0;
    });
  },
};
