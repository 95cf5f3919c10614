import type {
  FederatedServiceSummary,
  MergeMode,
  ZoneCount,
  ZoneState,
  ZoneStatus,
} from '../../src/federation/federated-view.js';
import type { ServiceRef, WireInstance, WireService } from '../../src/protocol/wire-model.js';

/**
 * What the pages read and do, whichever server served the UI. The federation answers for every zone
 * (its merged view, zone actions forwarded to the owning zone); a zone server answers for itself.
 * The types come from the servers' own contracts.
 */

export type { MergeMode, ServiceRef, WireInstance, WireService, ZoneCount, ZoneState, ZoneStatus };

export type Mode = 'federation' | 'zone';

/** One service in the list: counts and traffic share per zone. */
export type ServiceRow = FederatedServiceSummary;

/** Who keeps an instance alive (zone servers say; the federation and the watch do not). */
export type Lease = { readonly kind: 'instance' } | { readonly kind: 'session'; readonly sessionId: string } | null;

/** One instance as the UI shows it. */
export interface InstanceRow extends WireInstance {
  /** Unique across zones: zone/namespace/id. */
  readonly key: string;
  /** The weight balancers use (0 = no traffic): the federation's, or computed flat on a zone server. */
  readonly effectiveWeight: number;
  /** From a stale zone kept by the federation's fail-static policy. */
  readonly stale: boolean;
  readonly lease?: Lease;
}

export interface ServiceDetail {
  readonly ref: ServiceRef;
  readonly info: WireService | null;
  readonly instances: readonly InstanceRow[];
  /** Zone servers answer healthy for every instance when this is true (Nacos protect threshold). */
  readonly protectThresholdReached: boolean;
}

/** One zone's Raft replica as the overview shows it. */
export interface ReplicaRow {
  readonly id: string;
  readonly address: string;
  /** null when unknown (a zone server only knows about its peers what its leader tells it). */
  readonly up: boolean | null;
  readonly role: string | null;
  readonly term: number | null;
  readonly commit: number | null;
  readonly applied: number | null;
  /** Entries behind the leader's commit index, when known. */
  readonly lag: number | null;
  readonly leader: boolean;
  readonly voter: boolean | null;
  /** The replica whose UI this is (zone servers). */
  readonly self: boolean;
}

export interface ZoneOverview {
  readonly status: ZoneStatus;
  readonly replicas: readonly ReplicaRow[];
  /** Why the replica list is missing or partial. */
  readonly replicaError: string | null;
}

export interface Overview {
  readonly mode: Mode;
  readonly mergeMode: MergeMode;
  readonly revision: number;
  readonly zones: readonly ZoneOverview[];
  readonly services: number;
}

export interface InstancePatch {
  readonly enabled?: boolean;
  readonly weight?: number;
}

export interface Backend {
  readonly mode: Mode;
  /** Shown in the header: "federation" or "zone az1 · replica n1". */
  readonly title: string;
  readonly mergeMode: MergeMode;
  overview(): Promise<Overview>;
  zones(): Promise<readonly ZoneStatus[]>;
  namespaces(): Promise<readonly string[]>;
  services(): Promise<readonly ServiceRow[]>;
  service(ref: ServiceRef): Promise<ServiceDetail>;
  /** Turns an instance as the watch sends it into a row (zone servers compute effective weights). */
  instanceRow(instance: WireInstance, zoneWeights: ReadonlyMap<string, number>): InstanceRow;
  updateInstance(instance: InstanceRow, patch: InstancePatch): Promise<void>;
  deregister(instance: InstanceRow): Promise<void>;
  /** Sets the protect threshold in every zone that holds the service. */
  setProtectThreshold(ref: ServiceRef, zones: readonly string[], threshold: number): Promise<void>;
  setZoneWeight(zone: string, weight: number): Promise<void>;
}

export function serviceName(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.group}/${ref.service}`;
}

export function instanceKey(instance: WireInstance): string {
  return `${instance.zone}/${instance.namespace}/${instance.id}`;
}

/** The instance fields a zone's REST API names an instance by. */
export function instanceIdentity(i: WireInstance): {
  namespace: string;
  group: string;
  service: string;
  cluster: string;
  ip: string;
  port: number;
} {
  return { namespace: i.namespace, group: i.group, service: i.service, cluster: i.cluster, ip: i.ip, port: i.port };
}

/** The federation's flat rule, for zone servers: weight x zone weight for healthy, enabled instances. */
export function flatEffectiveWeight(i: WireInstance, zoneWeight: number): number {
  return i.healthy && i.enabled ? Math.round((i.weight * zoneWeight) / 100) : 0;
}

/** Per-zone counts and shares of a service's instances, as the federation computes them. */
export function summarize(instances: readonly InstanceRow[]): {
  zones: Record<string, ZoneCount>;
  total: number;
  healthy: number;
} {
  const acc = new Map<string, { total: number; healthy: number; serving: number; weight: number }>();
  let weightSum = 0;
  for (const i of instances) {
    const z = acc.get(i.zone) ?? { total: 0, healthy: 0, serving: 0, weight: 0 };
    z.total++;
    if (i.healthy) z.healthy++;
    if (i.healthy && i.enabled && i.effectiveWeight > 0) z.serving++;
    z.weight += i.effectiveWeight;
    weightSum += i.effectiveWeight;
    acc.set(i.zone, z);
  }
  const zones: Record<string, ZoneCount> = {};
  let total = 0;
  let healthy = 0;
  for (const [zone, z] of acc) {
    zones[zone] = {
      total: z.total,
      healthy: z.healthy,
      serving: z.serving,
      share: weightSum > 0 ? z.weight / weightSum : 0,
    };
    total += z.total;
    healthy += z.healthy;
  }
  return { zones, total, healthy };
}
