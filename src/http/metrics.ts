import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { sendError } from './request.js';

/** The route label of a path: a small closed set, so label cardinality stays bounded. */
export function routeOf(pathname: string): string {
  if (pathname === '/mcp') return 'mcp';
  if (pathname.startsWith('/api/v1/tools/')) return 'api_tools';
  if (pathname.startsWith('/api/')) return 'api';
  if (pathname === '/join') return 'join';
  if (pathname === '/healthz' || pathname === '/readyz') return 'health';
  if (pathname === '/metrics') return 'metrics';
  if (pathname.startsWith('/admin')) return 'admin';
  return 'other';
}

export async function handleMetrics(
  req: IncomingMessage,
  res: ServerResponse,
  metrics: Metrics,
  config: Readonly<Config>,
) {
  if (config.metricsToken !== undefined) {
    const given = Buffer.from(req.headers.authorization ?? '');
    const wanted = Buffer.from(`Bearer ${config.metricsToken}`);
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
      res.setHeader('www-authenticate', 'Bearer realm="metrics"');
      return sendError(
        res,
        new AppError('forbidden', 'send Authorization: Bearer <BATON_METRICS_TOKEN>'),
        {},
        401,
      );
    }
  }
  let exposition: Awaited<ReturnType<Metrics['exposition']>>;
  try {
    exposition = await metrics.exposition();
  } catch {
    // A worker's metrics come through the primary (src/cluster.ts), which may be busy or gone.
    return sendError(res, new AppError('unavailable', 'the metrics could not be gathered; retry'));
  }
  res.writeHead(200, { 'content-type': exposition.contentType, 'cache-control': 'no-store' });
  res.end(exposition.text);
}
