import { toWireInstance } from '../../protocol/wire-model.js';
import {
  type Instance,
  type Namespace,
  type ServiceInfo,
  type ServiceKey,
  serviceKeyOf,
} from '../../registry/model.js';
import type { Change } from '../../registry/registry-state.js';
import type { Watcher, WatchFilter } from '../../registry/watch-hub.js';
import type { ZoneRegistry } from '../../registry/zone-registry.js';
import { SnapshotCursor } from './snapshot-cursor.js';

/**
 * One subscription on a watch socket. Its life:
 *   waiting  (resuming from a revision this replica has not applied yet)
 *   snapshot (a hub watcher gathers changes while the snapshot's parts go out)
 *   live     (the hub watcher's events go out as deltas)
 *   stale    (the hub dropped its backlog: it holds nothing until the socket drains, then resyncs)
 * and from stale back to snapshot. The hub watcher and the snapshot are always taken in the same
 * synchronous step, so the deltas start exactly after the snapshot's revision.
 */
export class Subscription {
  state: 'waiting' | 'snapshot' | 'live' | 'stale' | 'closed' = 'waiting';
  watcher: Watcher | null = null;
  cursor: SnapshotCursor<Instance> | null = null;
  /** Why the subscription went stale (its hub queue overflowed, or the replica restored a snapshot). */
  staleReason = '';
  readonly subJson: string;
  readonly filter: WatchFilter;
  /** The services subscribed to (each once), or null for everything. */
  private readonly services: readonly ServiceKey[] | null;

  constructor(
    readonly id: string,
    services: readonly ServiceKey[] | null,
  ) {
    this.subJson = JSON.stringify(id);
    if (services === null) {
      this.services = null;
      this.filter = { all: true };
    } else {
      const unique = new Map(services.map((s) => [serviceKeyOf(s), s]));
      this.services = [...unique.values()];
      this.filter = { services: new Set(unique.keys()) };
    }
  }

  /** What the subscription counts against the per-socket service bound (everything counts as one). */
  get serviceCount(): number {
    return this.services?.length ?? 1;
  }

  /** Changes a service subscription does not see: namespaces concern only `all` subscriptions. */
  keeps(c: Change): boolean {
    return this.services === null || c.kind !== 'namespace';
  }

  /** Takes the view at the replica's current revision. */
  takeSnapshot(registry: ZoneRegistry): SnapshotCursor<Instance> {
    const state = registry.state;
    let namespaces: Namespace[] = [];
    const services: ServiceInfo[] = [];
    let instances: Instance[] = [];
    if (this.services === null) {
      namespaces = state.listNamespaces();
      services.push(...state.listServices());
      instances = [...state.allInstances()];
    } else {
      for (const key of this.services) {
        const info = state.service(key);
        if (info) services.push(info);
        for (const inst of state.instancesOf(key)) instances.push(inst);
      }
    }
    const zoneWeights = state.listZoneWeights().map(([zone, weight]) => ({ zone, weight }));
    return new SnapshotCursor(registry.revision, namespaces, services, instances, zoneWeights, toWireInstance);
  }
}
