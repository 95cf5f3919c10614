import type { WireChange, WireInstance, WireNamespace, WireService, ZoneWeight } from '../../protocol/wire-model.js';

/** A zone's whole view at one revision, assembled from a snapshot's parts. */
export interface ZoneSnapshot {
  readonly revision: number;
  readonly namespaces: readonly WireNamespace[];
  readonly services: readonly WireService[];
  readonly instances: readonly WireInstance[];
  readonly zoneWeights: readonly ZoneWeight[];
}

/**
 * What a zone watcher tells the merged view about its zone, in the order it learns it. The view
 * applies each call synchronously (one call is one batch of merged changes).
 */
export interface ZoneFeed {
  /** The replica watched now, or null while none is. */
  zoneReplica(zone: string, replica: string | null): void;
  /** A complete snapshot from `replica`: it replaces the zone's view, and the zone is live. */
  zoneSnapshot(zone: string, replica: string, snapshot: ZoneSnapshot): void;
  /** The subscription resumed on `replica` from the revision the view holds: the zone is live. */
  zoneResumed(zone: string, replica: string, revision: number): void;
  /** Changes in revision order; afterwards the zone is complete through `revision`. */
  zoneDelta(zone: string, revision: number, changes: readonly WireChange[]): void;
  /** The zone is complete through `revision` (nothing changed for the view). */
  zoneProgress(zone: string, revision: number): void;
  /** No replica of the zone gives a current view, since `sinceMs` (epoch ms). */
  zoneUnreachable(zone: string, sinceMs: number): void;
}
