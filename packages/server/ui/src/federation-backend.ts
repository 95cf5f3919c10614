import type { FederatedInstance, FederatedService } from '../../src/federation/federated-view.js';
import type { WireNamespace } from '../../src/protocol/wire-model.js';
import {
  type Backend,
  type InstancePatch,
  type InstanceRow,
  instanceIdentity,
  instanceKey,
  type MergeMode,
  type Overview,
  type ServiceDetail,
  type ServiceRef,
  type ServiceRow,
  type WireInstance,
  type ZoneOverview,
  type ZoneStatus,
} from './backend.js';
import { replicasFromFederation, type ZoneClusterAnswer } from './cluster-status.js';
import { api, errorText, query, seg } from './http.js';

/**
 * The UI on the federation: the merged view of every zone. Reads come from the federation's REST
 * API; actions go through its forwarding routes to the zone that owns the instance or service.
 */

/** The most services one list answer holds (the federation's own bound). */
const SERVICES_MAX = 10_000;

interface ZonesAnswer {
  readonly revision: number;
  readonly mergeMode: MergeMode;
  readonly zones: readonly ZoneStatus[];
}

export class FederationBackend implements Backend {
  readonly mode = 'federation' as const;
  readonly title = 'federation';
  readonly mergeMode: MergeMode;

  constructor(first: ZonesAnswer) {
    this.mergeMode = first.mergeMode;
  }

  async overview(): Promise<Overview> {
    const [zones, services] = await Promise.all([api<ZonesAnswer>('GET', '/v1/zones'), this.services()]);
    const overviews = await Promise.all(zones.zones.map((z) => this.zoneOverview(z)));
    return {
      mode: this.mode,
      mergeMode: zones.mergeMode,
      revision: zones.revision,
      zones: overviews,
      services: services.length,
    };
  }

  private async zoneOverview(status: ZoneStatus): Promise<ZoneOverview> {
    try {
      const answer = await api<ZoneClusterAnswer>('GET', `/v1/zones/${seg(status.zone)}/cluster`);
      return { status, replicas: replicasFromFederation(answer), replicaError: null };
    } catch (err) {
      const replicas = status.replicas.map((url) => ({
        id: url,
        address: url,
        up: null,
        role: null,
        term: null,
        commit: null,
        applied: null,
        lag: null,
        leader: false,
        voter: null,
        self: false,
      }));
      return { status, replicas, replicaError: errorText(err) };
    }
  }

  async zones(): Promise<readonly ZoneStatus[]> {
    return (await api<ZonesAnswer>('GET', '/v1/zones')).zones;
  }

  async namespaces(): Promise<readonly string[]> {
    const answer = await api<{ namespaces: readonly WireNamespace[] }>('GET', '/v1/namespaces');
    return answer.namespaces.map((n) => n.id);
  }

  async services(): Promise<readonly ServiceRow[]> {
    return (await api<{ services: readonly ServiceRow[] }>('GET', `/v1/services${query({ limit: SERVICES_MAX })}`))
      .services;
  }

  async service(ref: ServiceRef): Promise<ServiceDetail> {
    const { service } = await api<{ service: FederatedService }>('GET', servicePath(ref));
    return {
      ref,
      info: service.info,
      instances: service.instances.map((i) => this.instanceRow(i)),
      protectThresholdReached: false,
    };
  }

  instanceRow(instance: WireInstance | FederatedInstance): InstanceRow {
    const fed = instance as Partial<FederatedInstance>;
    return {
      ...instance,
      key: instanceKey(instance),
      effectiveWeight: typeof fed.effectiveWeight === 'number' ? fed.effectiveWeight : 0,
      stale: fed.stale === true,
    };
  }

  async updateInstance(instance: InstanceRow, patch: InstancePatch): Promise<void> {
    await api('PATCH', `/v1/zones/${seg(instance.zone)}/instances`, { ...instanceIdentity(instance), ...patch });
  }

  async deregister(instance: InstanceRow): Promise<void> {
    await api('DELETE', `/v1/zones/${seg(instance.zone)}/instances${query(instanceIdentity(instance))}`);
  }

  async setProtectThreshold(ref: ServiceRef, zones: readonly string[], threshold: number): Promise<void> {
    const failures: string[] = [];
    for (const zone of zones) {
      try {
        await api('PATCH', `/v1/zones/${seg(zone)}${servicePath(ref)}`, { protectThreshold: threshold });
      } catch (err) {
        failures.push(`${zone}: ${errorText(err)}`);
      }
    }
    if (failures.length > 0) throw new Error(`the protect threshold was not set in ${failures.join('; ')}`);
  }

  async setZoneWeight(zone: string, weight: number): Promise<void> {
    await api('PUT', `/v1/zones/${seg(zone)}/weight`, { weight });
  }
}

export function servicePath(ref: ServiceRef): string {
  return `/v1/services/${seg(ref.namespace)}/${seg(ref.group)}/${seg(ref.service)}`;
}
