import { type Dispatcher, request } from 'undici';
import type { Instance, ServiceRef } from '../instance.js';

/**
 * A linearizable read of one service over the native REST API (`GET /v1/services/...?consistent=true`),
 * used to confirm an update push-empty protection held back. The registry's protect threshold may
 * present unhealthy instances as healthy in this answer; the raw counts it carries are used instead.
 * Returns null when no replica answered.
 */
export async function freshRead(
  bases: readonly string[],
  ref: ServiceRef,
  opts: { headers: Record<string, string>; timeoutMs: number; dispatcher: Dispatcher },
): Promise<{ instances: Instance[]; revision: number } | null> {
  const path = `/v1/services/${encodeURIComponent(ref.namespace)}/${encodeURIComponent(ref.group)}/${encodeURIComponent(ref.service)}?consistent=true`;
  for (const base of bases) {
    try {
      const res = await request(base + path, {
        headers: opts.headers,
        dispatcher: opts.dispatcher,
        signal: AbortSignal.timeout(opts.timeoutMs),
      });
      const body = (await res.body.json()) as {
        revision?: unknown;
        instances?: unknown;
        counts?: { healthy?: unknown };
      };
      if (res.statusCode === 404) {
        const revision = Number(res.headers['x-cairn-revision'] ?? 0);
        return { instances: [], revision: Number.isFinite(revision) ? revision : 0 };
      }
      if (res.statusCode !== 200 || !Array.isArray(body.instances) || typeof body.revision !== 'number') continue;
      const instances = body.instances as Instance[];
      const rawHealthy = typeof body.counts?.healthy === 'number' ? body.counts.healthy : undefined;
      return {
        instances: rawHealthy === 0 ? instances.map((i) => ({ ...i, healthy: false })) : instances,
        revision: body.revision,
      };
    } catch {
      // Try the next replica.
    }
  }
  return null;
}
