import type { ZoneRegistry } from '../../registry/zone-registry.js';
import { StatsByOwner, WatchStats } from './watch-stats.js';

/** Counters and gauges of the push endpoints on one replica, for /metrics and for tests. */
export class PushStats extends WatchStats {
  watchConnections = 0;
  sessionConnections = 0;
  sessionsOpened = 0;
  sessionsResumed = 0;
  sessionsClosed = 0;
  /** Session sockets told `expired`. */
  sessionsExpired = 0;
}

const statsByRegistry = new StatsByOwner<ZoneRegistry, PushStats>();

/** The push statistics of the replica serving `registry` (undefined when it serves no push API). */
export function pushStatsOf(registry: ZoneRegistry): PushStats | undefined {
  return statsByRegistry.of(registry);
}

export function attachPushStats(registry: ZoneRegistry, stats: PushStats): void {
  statsByRegistry.attach(registry, stats);
}
