/**
 * Counters and gauges every watch endpoint keeps (the zone replica's push API and the federation's
 * watch), for /metrics and for tests; each extends them with its own.
 */
export class WatchStats {
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
  /** Frames refused (malformed, too large, binary or unexpected). */
  badFrames = 0;
}

/** Stats kept beside what serves them (a replica's registry, a federation's view), found by it. */
export class StatsByOwner<K extends object, S> {
  private readonly byOwner = new WeakMap<K, S>();

  /** The stats of the node serving `owner` (undefined when it serves no such endpoint). */
  of(owner: K): S | undefined {
    return this.byOwner.get(owner);
  }

  attach(owner: K, stats: S): void {
    this.byOwner.set(owner, stats);
  }
}
