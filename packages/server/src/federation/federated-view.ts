import type { ServiceRef, WireInstance, WireNamespace, WireService } from '../protocol/wire-model.js';

/**
 * The federation's merged, cross-zone view: what every output (REST, watch, DNS, Nacos reads, the
 * admin UI) reads. One implementation (`MergedView`) feeds it from the zone watchers; the outputs
 * depend only on this contract.
 */

/**
 * `connecting`: never reached yet. `live`: watched and current. `stale`: unreachable since
 * `staleSinceMs`; under the `keep` policy its last known instances stay in the view (marked stale),
 * under `drop` they leave it once the grace period has passed (`serving` turns false).
 */
export type ZoneState = 'connecting' | 'live' | 'stale';

export interface ZoneStatus {
  readonly zone: string;
  readonly state: ZoneState;
  /** Epoch ms since the zone is stale (or has been connecting); null while live. */
  readonly staleSinceMs: number | null;
  /** True while the zone's instances are part of the merged view. */
  readonly serving: boolean;
  /** The replica URL currently watched, or null. */
  readonly replica: string | null;
  /** Every replica URL the federation was given for this zone. */
  readonly replicas: readonly string[];
  /** The zone's registry revision the federation holds (its Raft index). */
  readonly revision: number;
  /** The zone's traffic weight (0-100; 0 drains it), as stored in its own registry. */
  readonly weight: number;
  readonly services: number;
  readonly instances: number;
  readonly healthyInstances: number;
  /** Epoch ms of the last message from the zone (data or progress). */
  readonly lastContactMs: number | null;
}

/** `flat`: every instance keeps its weight. `locality`: each zone's share follows its healthy ratio. */
export type MergeMode = 'flat' | 'locality';

/** One instance in the merged view: the zone's instance plus what the merge decided. */
export interface FederatedInstance extends WireInstance {
  /**
   * The weight a balancer should use (0 = send nothing). 0 unless healthy, enabled and its zone is
   * serving with a zone weight above 0. Integer, 0..EFFECTIVE_WEIGHT_MAX.
   */
  readonly effectiveWeight: number;
  /** True when the instance comes from a stale zone kept by the fail-static policy. */
  readonly stale: boolean;
}

/** Effective weights are scaled into this integer range (DNS SRV weights are 16-bit). */
export const EFFECTIVE_WEIGHT_MAX = 65_535;

export interface ZoneCount {
  readonly total: number;
  readonly healthy: number;
  /** Healthy, enabled, effective weight > 0: what a balancer would send to. */
  readonly serving: number;
  /** This zone's share (0..1) of the service's summed effective weight; 0 when nothing serves. */
  readonly share: number;
}

export interface FederatedServiceSummary {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  /** Per zone (only zones that have the service or its instances). */
  readonly zones: Readonly<Record<string, ZoneCount>>;
  readonly total: number;
  readonly healthy: number;
}

export interface FederatedService extends FederatedServiceSummary {
  /** The service's settings, from the first configured zone that holds them; null if none does. */
  readonly info: WireService | null;
  /** Every instance of every serving zone, ordered by zone (config order), then id. */
  readonly instances: readonly FederatedInstance[];
}

/** One change to the merged view, in order. `revision` is the federation's own revision. */
export type FederatedChange =
  | {
      readonly kind: 'instance';
      readonly action: 'put' | 'delete';
      readonly revision: number;
      readonly instance: FederatedInstance;
    }
  | {
      readonly kind: 'service';
      readonly action: 'put' | 'delete';
      readonly revision: number;
      readonly service: WireService;
    }
  | {
      readonly kind: 'namespace';
      readonly action: 'put' | 'delete';
      readonly revision: number;
      readonly namespace: WireNamespace;
    }
  | { readonly kind: 'zoneWeight'; readonly revision: number; readonly zone: string; readonly weight: number }
  | { readonly kind: 'zoneState'; readonly revision: number; readonly status: ZoneStatus };

export interface FederatedView {
  /**
   * The federation's own revision: it grows by one per batch of merged changes. Revisions are local
   * to one federation process; they start from a value derived from the process start time, so a
   * revision from another federation node is never mistaken for one of this node's.
   */
  readonly revision: number;
  readonly mergeMode: MergeMode;
  /** Zones in configuration order. */
  zones(): readonly ZoneStatus[];
  namespaces(): readonly WireNamespace[];
  listServices(filter?: { readonly namespace?: string; readonly group?: string }): readonly FederatedServiceSummary[];
  service(ref: ServiceRef): FederatedService | undefined;
  /** Every instance in the view (serving zones only). */
  allInstances(): Iterable<FederatedInstance>;
  /** True once every zone has been live at least once, or the start grace period has passed. */
  readonly ready: boolean;
  /**
   * Calls `listener` once per batch of changes, after the view has applied them (so reads inside the
   * listener see the new state). A change of a zone's weight or state re-emits the affected
   * instances with their new effective weights. Returns an unsubscribe function.
   */
  onChange(listener: (revision: number, changes: readonly FederatedChange[]) => void): () => void;
}
