import {
  type Backend,
  flatEffectiveWeight,
  type InstancePatch,
  type InstanceRow,
  instanceIdentity,
  instanceKey,
  type Lease,
  type Overview,
  type ServiceDetail,
  type ServiceRef,
  type ServiceRow,
  type WireInstance,
  type WireService,
  type ZoneStatus,
} from './backend.js';
import { type ClusterStatus, replicasFromSelf } from './cluster-status.js';
import { servicePath } from './federation-backend.js';
import { api, query, seg } from './http.js';

/**
 * The UI on one zone server: that zone only, read from this replica. Effective weights and shares
 * are what the federation would compute in flat mode, from this zone's weight.
 */

interface WeightsAnswer {
  readonly revision: number;
  readonly weights: readonly { readonly zone: string; readonly weight: number }[];
}

interface ServiceListAnswer {
  readonly revision: number;
  readonly total: number;
  readonly services: readonly (WireService & { readonly instances: { total: number; healthy: number } })[];
}

interface ServiceAnswer {
  readonly revision: number;
  readonly service: WireService;
  readonly instances: readonly (WireInstance & { readonly lease?: Lease })[];
  readonly protectThresholdReached: boolean;
}

const PAGE_SIZE = 1000;
/** Services listed per namespace at most (pages of 1000). */
const PAGES_MAX = 20;

export class ZoneBackend implements Backend {
  readonly mode = 'zone' as const;
  readonly mergeMode = 'flat' as const;
  readonly title: string;
  readonly zone: string;

  constructor(self: ClusterStatus) {
    this.zone = self.zone;
    this.title = `zone ${self.zone} · replica ${self.node}`;
  }

  async overview(): Promise<Overview> {
    const [self, weights, services] = await Promise.all([
      api<ClusterStatus>('GET', '/v1/cluster'),
      this.weights(),
      this.services(),
    ]);
    return {
      mode: this.mode,
      mergeMode: this.mergeMode,
      revision: self.revision,
      zones: [{ status: this.statusOf(self, weights, services), replicas: replicasFromSelf(self), replicaError: null }],
      services: services.length,
    };
  }

  /** This zone described the way the federation describes zones. */
  private statusOf(
    self: ClusterStatus,
    weights: ReadonlyMap<string, number>,
    services: readonly ServiceRow[],
  ): ZoneStatus {
    let instances = 0;
    let healthy = 0;
    for (const s of services) {
      instances += s.total;
      healthy += s.healthy;
    }
    return {
      zone: this.zone,
      state: 'live',
      staleSinceMs: null,
      serving: true,
      replica: self.node,
      replicas: self.members.map((m) => m.address),
      revision: self.revision,
      weight: weights.get(this.zone) ?? 100,
      services: services.length,
      instances,
      healthyInstances: healthy,
      lastContactMs: Date.now(),
    };
  }

  /** Every zone weight this registry stores (its own always, 100 unless set). */
  async weights(): Promise<Map<string, number>> {
    const answer = await api<WeightsAnswer>('GET', '/v1/zones/weights');
    return new Map(answer.weights.map((w) => [w.zone, w.weight]));
  }

  async zones(): Promise<readonly ZoneStatus[]> {
    const [self, weights, services] = await Promise.all([
      api<ClusterStatus>('GET', '/v1/cluster'),
      this.weights(),
      this.services(),
    ]);
    return [this.statusOf(self, weights, services)];
  }

  async namespaces(): Promise<readonly string[]> {
    const answer = await api<{ namespaces: readonly { id: string }[] }>('GET', '/v1/namespaces');
    return answer.namespaces.map((n) => n.id);
  }

  async services(): Promise<readonly ServiceRow[]> {
    const [namespaces, weights] = await Promise.all([this.namespaces(), this.weights()]);
    const zoneWeight = weights.get(this.zone) ?? 100;
    const rows: ServiceRow[] = [];
    for (const namespace of namespaces) {
      for (let pageNo = 1; pageNo <= PAGES_MAX; pageNo++) {
        const page = await api<ServiceListAnswer>(
          'GET',
          `/v1/services${query({ namespace, pageNo, pageSize: PAGE_SIZE })}`,
        );
        for (const s of page.services) {
          const { total, healthy } = s.instances;
          rows.push({
            namespace: s.namespace,
            group: s.group,
            service: s.service,
            // The list does not say which healthy instances are disabled; the detail page does.
            zones: { [this.zone]: { total, healthy, serving: healthy, share: healthy > 0 && zoneWeight > 0 ? 1 : 0 } },
            total,
            healthy,
          });
        }
        if (pageNo * PAGE_SIZE >= page.total) break;
      }
    }
    return rows;
  }

  async service(ref: ServiceRef): Promise<ServiceDetail> {
    const [answer, weights] = await Promise.all([api<ServiceAnswer>('GET', servicePath(ref)), this.weights()]);
    return {
      ref,
      info: answer.service,
      instances: answer.instances.map((i) => this.instanceRow(i, weights)),
      protectThresholdReached: answer.protectThresholdReached,
    };
  }

  instanceRow(
    instance: WireInstance & { readonly lease?: Lease },
    zoneWeights: ReadonlyMap<string, number>,
  ): InstanceRow {
    return {
      ...instance,
      key: instanceKey(instance),
      effectiveWeight: flatEffectiveWeight(instance, zoneWeights.get(instance.zone) ?? 100),
      stale: false,
    };
  }

  async updateInstance(instance: InstanceRow, patch: InstancePatch): Promise<void> {
    await api('PATCH', '/v1/instances', { ...instanceIdentity(instance), ...patch });
  }

  async deregister(instance: InstanceRow): Promise<void> {
    await api('DELETE', `/v1/instances${query(instanceIdentity(instance))}`);
  }

  async setProtectThreshold(ref: ServiceRef, _zones: readonly string[], threshold: number): Promise<void> {
    await api('PATCH', servicePath(ref), { protectThreshold: threshold });
  }

  async setZoneWeight(zone: string, weight: number): Promise<void> {
    await api('PUT', `/v1/zones/${seg(zone)}/weight`, { weight });
  }
}
