import type { FederatedView } from '../federated-view.js';

/** Counters and gauges of the federation watch on one node, for /metrics and for tests. */
export class FederationWatchStats {
  connections = 0;
  subscriptions = 0;
  /** Upgrades refused because the socket limit was reached. */
  refusedConnections = 0;
  snapshots = 0;
  resumes = 0;
  resyncs = 0;
  deltaMessages = 0;
  progressMessages = 0;
  zonesMessages = 0;
  slowConsumersClosed = 0;
  /** The most unsent bytes any socket held right after a send. */
  bufferedBytesPeak = 0;
  /** Frames refused (malformed, too large, binary). */
  badFrames = 0;
}

const statsByView = new WeakMap<FederatedView, FederationWatchStats>();

/** The watch statistics of the federation node serving `view` (undefined when it serves no watch). */
export function federationWatchStatsOf(view: FederatedView): FederationWatchStats | undefined {
  return statsByView.get(view);
}

export function attachFederationWatchStats(view: FederatedView, stats: FederationWatchStats): void {
  statsByView.set(view, stats);
}
