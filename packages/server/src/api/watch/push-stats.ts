import type { ZoneRegistry } from '../../registry/zone-registry.js';

/** Counters and gauges of the push endpoints on one replica, for /metrics and for tests. */
export class PushStats {
  watchConnections = 0;
  sessionConnections = 0;
  subscriptions = 0;
  /** Upgrades refused because a connection limit was reached. */
  refusedConnections = 0;
  snapshots = 0;
  resumes = 0;
  resyncs = 0;
  deltaMessages = 0;
  progressMessages = 0;
  slowConsumersClosed = 0;
  /** The most unsent bytes any watch socket held right after a send. */
  bufferedBytesPeak = 0;
  sessionsOpened = 0;
  sessionsResumed = 0;
  sessionsClosed = 0;
  /** Session sockets told `expired`. */
  sessionsExpired = 0;
  /** Frames refused (malformed, too large, unexpected). */
  badFrames = 0;
}

const statsByRegistry = new WeakMap<ZoneRegistry, PushStats>();

/** The push statistics of the replica serving `registry` (undefined when it serves no push API). */
export function pushStatsOf(registry: ZoneRegistry): PushStats | undefined {
  return statsByRegistry.get(registry);
}

export function attachPushStats(registry: ZoneRegistry, stats: PushStats): void {
  statsByRegistry.set(registry, stats);
}
