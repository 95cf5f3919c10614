import { StatsByOwner, WatchStats } from '../../api/watch/watch-stats.js';
import type { FederatedView } from '../federated-view.js';

/** Counters and gauges of the federation watch on one node, for /metrics and for tests. */
export class FederationWatchStats extends WatchStats {
  connections = 0;
  zonesMessages = 0;
}

const statsByView = new StatsByOwner<FederatedView, FederationWatchStats>();

/** The watch statistics of the federation node serving `view` (undefined when it serves no watch). */
export function federationWatchStatsOf(view: FederatedView): FederationWatchStats | undefined {
  return statsByView.of(view);
}

export function attachFederationWatchStats(view: FederatedView, stats: FederationWatchStats): void {
  statsByView.attach(view, stats);
}
