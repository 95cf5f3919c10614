import { type Heartbeat, heartbeatSchema, type Metadata, NACOS_HEARTBEAT } from '../../registry/model.js';
import { badRequest } from './nacos-params.js';

/** Nacos's PreservedMetadataKeys: per-instance heartbeat settings, in ms, carried in the metadata. */
export const PRESERVED_KEYS = {
  interval: 'preserved.heart.beat.interval',
  timeout: 'preserved.heart.beat.timeout',
  deleteTimeout: 'preserved.ip.delete.timeout',
} as const;

/**
 * The heartbeat settings of an instance registered through the Nacos API: Nacos's defaults (beat
 * every 5 s, unhealthy after 15 s, removed after 30 s) unless the preserved metadata keys say
 * otherwise. As in Nacos, a key whose value is not all digits is ignored, and a timeout shorter than
 * the interval is refused (400).
 *
 * Nacos runs the unhealthy and the delete timers independently; cairn needs unhealthy <= removed, so
 * a delete timeout shorter than the heartbeat timeout makes the instance unhealthy and removed at the
 * same moment (the delete timeout), which is what a Nacos client observes too.
 */
export function heartbeatOf(metadata: Metadata): Heartbeat {
  const intervalMs = msOf(metadata, PRESERVED_KEYS.interval, NACOS_HEARTBEAT.intervalMs);
  const timeoutMs = msOf(metadata, PRESERVED_KEYS.timeout, NACOS_HEARTBEAT.unhealthyAfterMs);
  const deleteMs = msOf(metadata, PRESERVED_KEYS.deleteTimeout, NACOS_HEARTBEAT.expireAfterMs);
  if (timeoutMs < intervalMs || deleteMs < intervalMs) {
    throw badRequest("Instance 'heart beat interval' must less than 'heart beat timeout' and 'ip delete timeout'.");
  }
  const r = heartbeatSchema.safeParse({
    intervalMs,
    unhealthyAfterMs: Math.min(timeoutMs, deleteMs),
    expireAfterMs: deleteMs,
  });
  if (!r.success) {
    const i = r.error.issues[0];
    throw badRequest(
      `Instance heart beat settings out of range: ${i ? `${i.path.join('.')} ${i.message}` : 'invalid'}`,
    );
  }
  return r.data;
}

function msOf(metadata: Metadata, key: string, defaultMs: number): number {
  const v = metadata[key];
  if (v === undefined || !/^\d+$/.test(v)) return defaultMs;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : defaultMs;
}
