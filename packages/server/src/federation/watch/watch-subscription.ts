import { SnapshotCursor } from '../../api/watch/snapshot-cursor.js';
import type { ServiceRef, WireService } from '../../protocol/wire-model.js';
import type { FederatedChange, FederatedInstance, FederatedView } from '../federated-view.js';
import type { FeedFilter, FeedReader } from './change-feed.js';

const keyOf = (r: { readonly namespace: string; readonly group: string; readonly service: string }): string =>
  `${r.namespace}/${r.group}/${r.service}`;

/**
 * One subscription on a federation watch socket. Its life:
 *   waiting  (the view is not ready yet: no snapshot is sent from a half-built view)
 *   snapshot (its feed reader gathers changes while the snapshot's parts go out)
 *   live     (the reader's batches go out as deltas)
 *   stale    (its queue overflowed: it holds nothing until the socket drains, then resyncs)
 * and from stale back to snapshot. The snapshot and the feed reader are taken in one synchronous
 * step, so the deltas start exactly after the snapshot's revision.
 */
export class WatchSubscription {
  state: 'waiting' | 'snapshot' | 'live' | 'stale' | 'closed' = 'waiting';
  reader: FeedReader | null = null;
  cursor: SnapshotCursor<FederatedInstance> | null = null;
  staleReason = '';
  readonly subJson: string;
  readonly filter: FeedFilter;
  /** The services subscribed to (each once), or null for everything. */
  private readonly services: readonly ServiceRef[] | null;

  constructor(
    readonly id: string,
    services: readonly ServiceRef[] | null,
  ) {
    this.subJson = JSON.stringify(id);
    if (services === null) {
      this.services = null;
      this.filter = { all: true };
    } else {
      const unique = new Map(services.map((s) => [keyOf(s), s]));
      this.services = [...unique.values()];
      const keys = new Set(unique.keys());
      this.filter = { keep: (c) => keeps(keys, c) };
    }
  }

  /** What the subscription counts against the per-socket service bound (everything counts as one). */
  get serviceCount(): number {
    return this.services?.length ?? 1;
  }

  /** The view now, at its revision. */
  takeSnapshot(view: FederatedView): SnapshotCursor<FederatedInstance> {
    const zoneWeights = view.zones().map((z) => ({ zone: z.zone, weight: z.weight }));
    const services: WireService[] = [];
    const instances: FederatedInstance[] = [];
    if (this.services === null) {
      for (const summary of view.listServices()) {
        const info = view.service(summary)?.info;
        if (info) services.push(info);
      }
      for (const inst of view.allInstances()) instances.push(inst);
      return new SnapshotCursor(view.revision, view.namespaces(), services, instances, zoneWeights);
    }
    for (const ref of this.services) {
      const svc = view.service(ref);
      if (!svc) continue;
      if (svc.info) services.push(svc.info);
      for (const inst of svc.instances) instances.push(inst);
    }
    return new SnapshotCursor(view.revision, [], services, instances, zoneWeights);
  }
}

/** A service subscription sees its services' instances and settings, and zone weights. */
function keeps(keys: ReadonlySet<string>, c: FederatedChange): boolean {
  if (c.kind === 'instance') return keys.has(keyOf(c.instance));
  if (c.kind === 'service') return keys.has(keyOf(c.service));
  return c.kind === 'zoneWeight';
}
