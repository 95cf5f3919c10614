import {
  type Backend,
  type InstanceRow,
  instanceKey,
  type ServiceDetail,
  type ServiceRef,
  type WireInstance,
  type WireService,
} from './backend.js';
import type { WatchMessage } from './watch-client.js';

/**
 * One service as the detail page shows it, kept current: loaded from REST, then replaced by the
 * watch's snapshot and moved forward by its deltas. Instances are kept as the server sent them, so
 * a zone weight change can recompute effective weights on a zone server.
 */
export class LiveService {
  private info: WireService | null = null;
  private readonly instances = new Map<string, WireInstance>();
  private readonly zoneWeights = new Map<string, number>();
  /** A snapshot arriving in parts; the view is replaced when its last part arrives. */
  private partial: { info: WireService | null; instances: WireInstance[]; weights: Map<string, number> } | null = null;
  /** The zone server's REST answer says so; once the watch has spoken, the page computes it. */
  private restThresholdReached: boolean | null = null;
  /** The service was deleted while the page was open. */
  gone = false;

  constructor(
    private readonly backend: Backend,
    readonly ref: ServiceRef,
  ) {}

  /** Takes a REST answer (first load, or a refresh while the watch is down). */
  load(detail: ServiceDetail): void {
    this.info = detail.info;
    this.instances.clear();
    for (const i of detail.instances) this.instances.set(i.key, i);
    this.restThresholdReached = detail.protectThresholdReached;
    this.gone = false;
  }

  /** Applies a watch message; true when what the page shows changed. */
  apply(m: WatchMessage): boolean {
    switch (m.type) {
      case 'snapshot': {
        const part = this.partial ?? { info: null, instances: [], weights: new Map<string, number>() };
        for (const s of m.services) if (this.matches(s)) part.info = s;
        for (const i of m.instances) if (this.matches(i)) part.instances.push(i);
        for (const w of m.zoneWeights) part.weights.set(w.zone, w.weight);
        this.partial = part;
        if (!m.last) return false;
        this.partial = null;
        this.info = part.info;
        this.instances.clear();
        for (const i of part.instances) this.instances.set(instanceKey(i), i);
        this.zoneWeights.clear();
        for (const [zone, weight] of part.weights) this.zoneWeights.set(zone, weight);
        this.restThresholdReached = null;
        this.gone = part.info === null && part.instances.length === 0;
        return true;
      }
      case 'delta': {
        let changed = false;
        for (const c of m.changes) {
          if (c.kind === 'instance' && this.matches(c.instance)) {
            if (c.action === 'put') this.instances.set(instanceKey(c.instance), c.instance);
            else this.instances.delete(instanceKey(c.instance));
            changed = true;
          } else if (c.kind === 'service' && this.matches(c.service)) {
            this.info = c.action === 'put' ? c.service : null;
            this.gone = c.action === 'delete';
            changed = true;
          } else if (c.kind === 'zoneWeight') {
            this.zoneWeights.set(c.zone, c.weight);
            changed = true;
          }
        }
        if (changed) this.restThresholdReached = null;
        return changed;
      }
      case 'resync':
        this.partial = null;
        return false;
      default:
        return false;
    }
  }

  detail(): ServiceDetail {
    const instances: InstanceRow[] = [...this.instances.values()].map((i) =>
      'key' in i ? (i as InstanceRow) : this.backend.instanceRow(i, this.zoneWeights),
    );
    instances.sort(byZoneThenAddress);
    const healthy = instances.reduce((n, i) => n + (i.healthy ? 1 : 0), 0);
    const threshold = this.info?.protectThreshold ?? 0;
    return {
      ref: this.ref,
      info: this.info,
      instances,
      protectThresholdReached:
        this.restThresholdReached ?? (instances.length > 0 && healthy / instances.length <= threshold),
    };
  }

  private matches(x: { namespace: string; group: string; service: string }): boolean {
    return x.namespace === this.ref.namespace && x.group === this.ref.group && x.service === this.ref.service;
  }
}

function byZoneThenAddress(a: InstanceRow, b: InstanceRow): number {
  return (
    a.zone.localeCompare(b.zone) ||
    a.cluster.localeCompare(b.cluster) ||
    a.ip.localeCompare(b.ip, undefined, { numeric: true }) ||
    a.port - b.port
  );
}
