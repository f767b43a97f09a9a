import type { ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { sendJson } from './request.js';

// RFC 9728 protected-resource metadata for the /mcp resource. Baton issues its own bearer
// tokens (admins hand them out), so no authorization server is advertised.
export function handleResourceMetadata(res: ServerResponse, config: Readonly<Config>): void {
  sendJson(
    res,
    200,
    {
      resource: `${config.publicUrl}/mcp`,
      resource_name: 'Baton',
      bearer_methods_supported: ['header'],
      resource_documentation: `${config.publicUrl}/`,
    },
    { 'cache-control': 'public, max-age=3600' },
  );
}
