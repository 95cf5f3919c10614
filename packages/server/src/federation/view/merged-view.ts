import type { Logger } from 'pino';
import type {
  ServiceRef,
  WireChange,
  WireInstance,
  WireNamespace,
  WireService,
  ZoneWeight,
} from '../../protocol/wire-model.js';
import type { ZonePolicy } from '../config/federation-config.js';
import type {
  FederatedChange,
  FederatedInstance,
  FederatedService,
  FederatedServiceSummary,
  FederatedView,
  MergeMode,
  ZoneCount,
  ZoneState,
  ZoneStatus,
} from '../federated-view.js';
import type { ZoneFeed, ZoneSnapshot } from '../zones/zone-feed.js';
import {
  DEFAULT_ZONE_WEIGHT,
  flatEffectiveWeight,
  type LocalityZone,
  localityEffectiveWeight,
  localityMultipliers,
} from './effective-weights.js';
import { ZoneSlice } from './zone-slice.js';

export interface MergedViewOptions {
  /** Zones in configuration order (instances and service settings are preferred in that order). */
  readonly zones: readonly { readonly zone: string; readonly replicas: readonly string[] }[];
  readonly mergeMode: MergeMode;
  readonly overprovisioning: number;
  readonly policy: ZonePolicy;
  /** Under `drop`: how long a stale zone keeps serving before its instances leave the view. */
  readonly dropAfterMs: number;
  /** `ready` turns true at the latest this long after the view is created. */
  readonly readyGraceMs: number;
  readonly logger?: Logger;
  /** Epoch ms (tests pass their own clock). */
  readonly now?: () => number;
  /** The first revision; by default derived from the start time, so two runs never share revisions. */
  readonly startRevision?: number;
}

/** 2020-01-01T00:00:00Z: revisions start at (seconds since then) x 1e6, below 2^53 until the year 2255. */
const REVISION_EPOCH_MS = Date.UTC(2020, 0, 1);

export function startRevisionAt(nowMs: number): number {
  return Math.floor((nowMs - REVISION_EPOCH_MS) / 1000) * 1_000_000;
}

interface ZoneData {
  readonly index: number;
  readonly name: string;
  readonly replicas: readonly string[];
  state: ZoneState;
  staleSinceMs: number | null;
  serving: boolean;
  replica: string | null;
  revision: number;
  weight: number;
  lastContactMs: number | null;
  everLive: boolean;
  instances: number;
  healthy: number;
  /** Keys of the services this zone has a slice of. */
  readonly services: Set<string>;
  readonly namespaces: Map<string, WireNamespace>;
  dropTimer: NodeJS.Timeout | null;
}

/** One merged service: a slice per zone (by zone index) that holds it. */
class MergedService {
  readonly slices: (ZoneSlice | undefined)[];

  constructor(
    readonly key: string,
    readonly namespace: string,
    readonly group: string,
    readonly service: string,
    zoneCount: number,
  ) {
    this.slices = new Array<ZoneSlice | undefined>(zoneCount).fill(undefined);
  }

  get empty(): boolean {
    return this.slices.every((s) => s === undefined);
  }
}

/** Everything one batch touched, with what listeners saw before it: the changes are the net difference. */
class Batch {
  /** Per zone, per service key, per instance id: what listeners saw before the batch. */
  readonly instances = new Map<ZoneData, Map<string, Map<string, FederatedInstance | null>>>();
  readonly services = new Map<string, WireService | null>();
  readonly namespaces = new Map<string, WireNamespace | null>();
  readonly zoneStates = new Set<ZoneData>();
  readonly zoneWeights = new Set<ZoneData>();
  /** Services whose locality weights must be recomputed before the batch ends. */
  readonly dirty = new Set<string>();
}

function serviceKey(s: { namespace: string; group: string; service: string }): string {
  return `${s.namespace}/${s.group}/${s.service}`;
}

function sameNamespace(a: WireNamespace, b: WireNamespace): boolean {
  return a.name === b.name && a.description === b.description;
}

function sameInstance(a: WireInstance, b: WireInstance): boolean {
  return (
    a.revision === b.revision &&
    a.updatedAt === b.updatedAt &&
    a.healthy === b.healthy &&
    a.enabled === b.enabled &&
    a.weight === b.weight
  );
}

/** Strings many instances share (cluster names), stored once. */
class Interner {
  private readonly strings = new Map<string, string>();

  of(s: string): string {
    const known = this.strings.get(s);
    if (known !== undefined) return known;
    if (this.strings.size < 10_000) this.strings.set(s, s);
    return s;
  }
}

/**
 * A zone's instance as the view holds it. Built field by field (not spread) so every instance has
 * the same compact shape; the names it shares with its service are stored once.
 */
function federate(
  w: WireInstance,
  svc: MergedService,
  zone: string,
  cluster: string,
  effectiveWeight: number,
  stale: boolean,
): FederatedInstance {
  return {
    id: w.id,
    namespace: svc.namespace,
    group: svc.group,
    service: svc.service,
    cluster,
    ip: w.ip,
    port: w.port,
    weight: w.weight,
    healthy: w.healthy,
    enabled: w.enabled,
    ephemeral: w.ephemeral,
    zone,
    metadata: w.metadata,
    heartbeat: w.heartbeat,
    check: w.check,
    registeredAt: w.registeredAt,
    updatedAt: w.updatedAt,
    revision: w.revision,
    effectiveWeight,
    stale,
  };
}

/** A zone's own weight: the entry named after it, or the default. */
export function ownZoneWeight(zone: string, weights: readonly ZoneWeight[]): number {
  const w = weights.find((x) => x.zone === zone)?.weight;
  return w === undefined ? DEFAULT_ZONE_WEIGHT : Math.min(100, Math.max(0, w));
}

/**
 * The federation's merged view, fed by one watcher per zone (ZoneFeed) and read by every output
 * (FederatedView). Services are merged by namespace/group/name; each keeps one slice per zone, and
 * instances are keyed by zone + id. Every feed call is one batch: it is applied whole, then
 * listeners get the net changes it made, under one new revision.
 *
 * Cost: a change to one instance costs O(1) under `flat`, and O(instances of its service) under
 * `locality` (a zone's share follows its healthy ratio, so every instance of the service may move).
 * A zone's state or weight change re-emits the zone's instances. Reads are served from indexes.
 */
export class MergedView implements FederatedView, ZoneFeed {
  readonly mergeMode: MergeMode;
  private rev: number;
  private readonly zoneList: ZoneData[];
  private readonly zoneByName = new Map<string, ZoneData>();
  private readonly index = new Map<string, MergedService>();
  private readonly listeners = new Set<(revision: number, changes: readonly FederatedChange[]) => void>();
  private batch: Batch | null = null;
  private readonly clusters = new Interner();
  private readonly now: () => number;
  private readonly startMs: number;
  private closed = false;

  constructor(private readonly opts: MergedViewOptions) {
    this.mergeMode = opts.mergeMode;
    this.now = opts.now ?? Date.now;
    this.startMs = this.now();
    this.rev = opts.startRevision ?? startRevisionAt(this.startMs);
    if (opts.zones.length === 0) throw new Error('a merged view needs at least one zone');
    this.zoneList = opts.zones.map((z, index) => ({
      index,
      name: z.zone,
      replicas: [...z.replicas],
      state: 'connecting' as ZoneState,
      staleSinceMs: this.startMs,
      serving: true,
      replica: null,
      revision: 0,
      weight: DEFAULT_ZONE_WEIGHT,
      lastContactMs: null,
      everLive: false,
      instances: 0,
      healthy: 0,
      services: new Set<string>(),
      namespaces: new Map<string, WireNamespace>(),
      dropTimer: null,
    }));
    for (const z of this.zoneList) {
      if (this.zoneByName.has(z.name)) throw new Error(`zone ${z.name} is configured twice`);
      this.zoneByName.set(z.name, z);
    }
  }

  // -------------------------------------------------------------------------------------------
  // FederatedView: reads
  // -------------------------------------------------------------------------------------------

  get revision(): number {
    return this.rev;
  }

  get ready(): boolean {
    return this.zoneList.every((z) => z.everLive) || this.now() - this.startMs >= this.opts.readyGraceMs;
  }

  zones(): readonly ZoneStatus[] {
    return this.zoneList.map((z) => this.statusOf(z));
  }

  zone(name: string): ZoneStatus | undefined {
    const z = this.zoneByName.get(name);
    return z ? this.statusOf(z) : undefined;
  }

  namespaces(): readonly WireNamespace[] {
    const out = new Map<string, WireNamespace>();
    for (const z of this.zoneList) {
      if (!z.serving) continue;
      for (const ns of z.namespaces.values()) if (!out.has(ns.id)) out.set(ns.id, ns);
    }
    return [...out.values()];
  }

  listServices(filter: { readonly namespace?: string; readonly group?: string } = {}): FederatedServiceSummary[] {
    const out: FederatedServiceSummary[] = [];
    for (const svc of this.index.values()) {
      if (filter.namespace !== undefined && svc.namespace !== filter.namespace) continue;
      if (filter.group !== undefined && svc.group !== filter.group) continue;
      const summary = this.summaryOf(svc);
      if (summary) out.push(summary);
    }
    return out.sort(
      (a, b) => compare(a.namespace, b.namespace) || compare(a.group, b.group) || compare(a.service, b.service),
    );
  }

  service(ref: ServiceRef): FederatedService | undefined {
    const svc = this.index.get(serviceKey(ref));
    if (!svc) return undefined;
    const summary = this.summaryOf(svc);
    if (!summary) return undefined;
    const instances: FederatedInstance[] = [];
    for (const z of this.zoneList) {
      const slice = svc.slices[z.index];
      if (slice && z.serving) for (const i of slice.ordered()) instances.push(i);
    }
    return { ...summary, info: this.mergedInfo(svc.key), instances };
  }

  *allInstances(): Iterable<FederatedInstance> {
    for (const svc of this.index.values()) {
      for (const z of this.zoneList) {
        const slice = svc.slices[z.index];
        if (slice && z.serving) yield* slice.values();
      }
    }
  }

  /** Services and instances in the view (serving zones only); walks the service index. */
  counts(): { services: number; instances: number; healthyInstances: number } {
    let services = 0;
    for (const svc of this.index.values()) if (svc.slices.some((s, i) => s && this.zoneList[i]!.serving)) services++;
    let instances = 0;
    let healthyInstances = 0;
    for (const z of this.zoneList) {
      if (!z.serving) continue;
      instances += z.instances;
      healthyInstances += z.healthy;
    }
    return { services, instances, healthyInstances };
  }

  onChange(listener: (revision: number, changes: readonly FederatedChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Stops the drop timers and lets go of the listeners. */
  close(): void {
    this.closed = true;
    for (const z of this.zoneList) this.clearDropTimer(z);
    this.listeners.clear();
  }

  private statusOf(z: ZoneData): ZoneStatus {
    return {
      zone: z.name,
      state: z.state,
      staleSinceMs: z.state === 'live' ? null : z.staleSinceMs,
      serving: z.serving,
      replica: z.replica,
      replicas: z.replicas,
      revision: z.revision,
      weight: z.weight,
      services: z.services.size,
      instances: z.instances,
      healthyInstances: z.healthy,
      lastContactMs: z.lastContactMs,
    };
  }

  private summaryOf(svc: MergedService): FederatedServiceSummary | null {
    let effectiveTotal = 0;
    let visible = false;
    for (const z of this.zoneList) {
      const slice = svc.slices[z.index];
      if (!slice || !z.serving) continue;
      visible = true;
      effectiveTotal += slice.effectiveSum;
    }
    if (!visible) return null;
    const zones: Record<string, ZoneCount> = {};
    let total = 0;
    let healthy = 0;
    for (const z of this.zoneList) {
      const slice = svc.slices[z.index];
      if (!slice || !z.serving) continue;
      zones[z.name] = {
        total: slice.size,
        healthy: slice.healthy,
        serving: slice.serving,
        share: effectiveTotal > 0 ? slice.effectiveSum / effectiveTotal : 0,
      };
      total += slice.size;
      healthy += slice.healthy;
    }
    return { namespace: svc.namespace, group: svc.group, service: svc.service, zones, total, healthy };
  }

  /** The service settings listeners see: the first serving zone (config order) that holds them. */
  private mergedInfo(key: string): WireService | null {
    const svc = this.index.get(key);
    if (!svc) return null;
    for (const z of this.zoneList) {
      const info = z.serving ? svc.slices[z.index]?.info : null;
      if (info) return info;
    }
    return null;
  }

  private mergedNamespace(id: string): WireNamespace | null {
    for (const z of this.zoneList) {
      const ns = z.serving ? z.namespaces.get(id) : undefined;
      if (ns) return ns;
    }
    return null;
  }

  // -------------------------------------------------------------------------------------------
  // ZoneFeed: what the watchers report
  // -------------------------------------------------------------------------------------------

  zoneReplica(zone: string, replica: string | null): void {
    this.zoneOf(zone).replica = replica;
  }

  zoneSnapshot(zone: string, replica: string, snapshot: ZoneSnapshot): void {
    const z = this.zoneOf(zone);
    this.run((b) => {
      z.replica = replica;
      z.lastContactMs = this.now();
      this.goLive(b, z);
      this.replaceZoneData(b, z, snapshot);
      this.setZoneWeight(b, z, ownZoneWeight(z.name, snapshot.zoneWeights));
      z.revision = snapshot.revision;
    });
  }

  zoneResumed(zone: string, replica: string, revision: number): void {
    const z = this.zoneOf(zone);
    this.run((b) => {
      z.replica = replica;
      z.lastContactMs = this.now();
      z.revision = Math.max(z.revision, revision);
      this.goLive(b, z);
    });
  }

  zoneDelta(zone: string, revision: number, changes: readonly WireChange[]): void {
    const z = this.zoneOf(zone);
    this.run((b) => {
      z.lastContactMs = this.now();
      for (const c of changes) this.applyChange(b, z, c);
      z.revision = Math.max(z.revision, revision);
    });
  }

  zoneProgress(zone: string, revision: number): void {
    const z = this.zoneOf(zone);
    z.lastContactMs = this.now();
    z.revision = Math.max(z.revision, revision);
  }

  zoneUnreachable(zone: string, sinceMs: number): void {
    const z = this.zoneOf(zone);
    if (z.state !== 'live') return;
    this.run((b) => {
      z.replica = null;
      this.setState(b, z, 'stale', sinceMs);
      this.opts.logger?.warn(
        { zone: z.name, policy: this.opts.policy, dropAfterMs: this.opts.dropAfterMs },
        this.opts.policy === 'keep'
          ? 'zone unreachable: serving its last known instances (fail-static)'
          : 'zone unreachable: its instances leave the view after the grace period',
      );
      if (this.opts.policy === 'drop') this.scheduleDrop(z);
    });
  }

  private zoneOf(name: string): ZoneData {
    const z = this.zoneByName.get(name);
    if (!z) throw new Error(`unknown zone ${name}`);
    return z;
  }

  // -------------------------------------------------------------------------------------------
  // Applying one zone's changes
  // -------------------------------------------------------------------------------------------

  private applyChange(b: Batch, z: ZoneData, c: WireChange): void {
    switch (c.kind) {
      case 'instance':
        if (c.action === 'put') this.putInstance(b, z, c.instance);
        else this.deleteInstance(b, z, serviceKey(c.instance), c.instance.id);
        return;
      case 'service':
        if (c.action === 'put') this.putService(b, z, c.service);
        else this.deleteService(b, z, serviceKey(c.service));
        return;
      case 'namespace':
        this.touchNamespace(b, c.namespace.id);
        if (c.action === 'put') z.namespaces.set(c.namespace.id, c.namespace);
        else z.namespaces.delete(c.namespace.id);
        return;
      case 'zoneWeight':
        // A registry may store other zones' weights too; a zone's own registry is the authority on it.
        if (c.zone === z.name) this.setZoneWeight(b, z, Math.min(100, Math.max(0, c.weight)));
        return;
    }
  }

  /** The zone's whole view becomes `snap`: only real differences are applied (and emitted). */
  private replaceZoneData(b: Batch, z: ZoneData, snap: ZoneSnapshot): void {
    const nsNew = new Map(snap.namespaces.map((n) => [n.id, n]));
    for (const id of [...z.namespaces.keys()]) {
      if (nsNew.has(id)) continue;
      this.touchNamespace(b, id);
      z.namespaces.delete(id);
    }
    for (const ns of nsNew.values()) {
      const old = z.namespaces.get(ns.id);
      if (old && sameNamespace(old, ns)) continue;
      this.touchNamespace(b, ns.id);
      z.namespaces.set(ns.id, ns);
    }

    const servicesNew = new Map(snap.services.map((s) => [serviceKey(s), s]));
    const instancesNew = new Map<string, Map<string, WireInstance>>();
    for (const i of snap.instances) {
      const key = serviceKey(i);
      let m = instancesNew.get(key);
      if (!m) {
        m = new Map();
        instancesNew.set(key, m);
      }
      m.set(i.id, i);
    }
    // What the zone no longer holds.
    for (const key of [...z.services]) {
      const slice = this.index.get(key)?.slices[z.index];
      if (!slice) continue;
      const keep = instancesNew.get(key);
      const gone: string[] = [];
      for (const inst of slice.values()) if (!keep?.has(inst.id)) gone.push(inst.id);
      for (const id of gone) this.deleteInstance(b, z, key, id);
      if (slice.info && !servicesNew.has(key)) this.deleteService(b, z, key);
    }
    // What is new or changed.
    for (const s of servicesNew.values()) {
      const old = this.index.get(serviceKey(s))?.slices[z.index]?.info;
      if (!old || old.revision !== s.revision) this.putService(b, z, s);
    }
    for (const [key, m] of instancesNew) {
      for (const i of m.values()) {
        const old = this.index.get(key)?.slices[z.index]?.get(i.id);
        if (!old || !sameInstance(old, i)) this.putInstance(b, z, i);
      }
    }
  }

  private sliceFor(z: ZoneData, s: { namespace: string; group: string; service: string }): ZoneSlice {
    const key = serviceKey(s);
    let svc = this.index.get(key);
    if (!svc) {
      svc = new MergedService(key, s.namespace, s.group, s.service, this.zoneList.length);
      this.index.set(key, svc);
    }
    let slice = svc.slices[z.index];
    if (!slice) {
      slice = new ZoneSlice();
      svc.slices[z.index] = slice;
      z.services.add(svc.key);
    }
    return slice;
  }

  /** Drops a slice that holds nothing any more, and a merged service with no slice left. */
  private prune(z: ZoneData, key: string): void {
    const svc = this.index.get(key);
    const slice = svc?.slices[z.index];
    if (!svc || !slice?.empty) return;
    svc.slices[z.index] = undefined;
    z.services.delete(key);
    if (svc.empty) this.index.delete(key);
  }

  private putInstance(b: Batch, z: ZoneData, wire: WireInstance): void {
    const key = serviceKey(wire);
    this.touchInstance(b, z, key, wire.id);
    const slice = this.sliceFor(z, wire);
    const old = slice.get(wire.id);
    let effectiveWeight: number;
    if (this.mergeMode === 'flat') {
      effectiveWeight = flatEffectiveWeight(wire, z.weight, z.serving);
    } else {
      // Settled when the batch ends, with every other change to the service in it.
      effectiveWeight = old?.effectiveWeight ?? 0;
      b.dirty.add(key);
    }
    const svc = this.index.get(key)!;
    const inst = federate(wire, svc, z.name, this.clusters.of(wire.cluster), effectiveWeight, z.state === 'stale');
    slice.set(inst);
    if (!old) z.instances++;
    z.healthy += (inst.healthy ? 1 : 0) - (old?.healthy ? 1 : 0);
  }

  private deleteInstance(b: Batch, z: ZoneData, key: string, id: string): void {
    const slice = this.index.get(key)?.slices[z.index];
    if (!slice?.get(id)) return;
    this.touchInstance(b, z, key, id);
    const old = slice.delete(id)!;
    z.instances--;
    if (old.healthy) z.healthy--;
    if (this.mergeMode === 'locality') b.dirty.add(key);
    this.prune(z, key);
  }

  private putService(b: Batch, z: ZoneData, info: WireService): void {
    const key = serviceKey(info);
    this.touchService(b, key);
    this.sliceFor(z, info).info = info;
  }

  private deleteService(b: Batch, z: ZoneData, key: string): void {
    const slice = this.index.get(key)?.slices[z.index];
    if (!slice?.info) return;
    this.touchService(b, key);
    slice.info = null;
    this.prune(z, key);
  }

  // -------------------------------------------------------------------------------------------
  // Zone state and weight
  // -------------------------------------------------------------------------------------------

  private goLive(b: Batch, z: ZoneData): void {
    this.clearDropTimer(z);
    if (!z.everLive) this.opts.logger?.info({ zone: z.name }, 'zone live');
    else if (z.state !== 'live') this.opts.logger?.info({ zone: z.name }, 'zone live again');
    z.everLive = true;
    this.setServing(b, z, true);
    this.setState(b, z, 'live', null);
  }

  private setState(b: Batch, z: ZoneData, state: ZoneState, staleSinceMs: number | null): void {
    if (z.state === state) return;
    const staleBefore = z.state === 'stale';
    z.state = state;
    z.staleSinceMs = staleSinceMs;
    b.zoneStates.add(z);
    if (staleBefore !== (state === 'stale')) this.recomputeZone(b, z);
  }

  /** Puts a zone's instances, services and namespaces into the view, or takes them out. */
  private setServing(b: Batch, z: ZoneData, serving: boolean): void {
    if (z.serving === serving) return;
    // Record what listeners saw before the zone's part of the view appears or disappears.
    for (const key of z.services) {
      this.touchService(b, key);
      const slice = this.index.get(key)?.slices[z.index];
      if (slice) for (const inst of slice.values()) this.touchInstance(b, z, key, inst.id);
    }
    for (const id of z.namespaces.keys()) this.touchNamespace(b, id);
    z.serving = serving;
    b.zoneStates.add(z);
    this.recomputeZone(b, z);
  }

  private setZoneWeight(b: Batch, z: ZoneData, weight: number): void {
    if (z.weight === weight) return;
    this.opts.logger?.info({ zone: z.name, weight, was: z.weight }, 'zone weight changed');
    z.weight = weight;
    b.zoneWeights.add(z);
    this.recomputeZone(b, z);
  }

  private scheduleDrop(z: ZoneData): void {
    this.clearDropTimer(z);
    const waitMs = Math.max(0, (z.staleSinceMs ?? this.now()) + this.opts.dropAfterMs - this.now());
    const drop = (): void => {
      z.dropTimer = null;
      if (this.closed || z.state !== 'stale') return;
      this.run((b) => this.setServing(b, z, false));
      this.opts.logger?.warn({ zone: z.name }, 'zone still unreachable: its instances left the view');
    };
    if (waitMs === 0) drop();
    else {
      z.dropTimer = setTimeout(drop, waitMs);
      z.dropTimer.unref();
    }
  }

  private clearDropTimer(z: ZoneData): void {
    if (z.dropTimer) clearTimeout(z.dropTimer);
    z.dropTimer = null;
  }

  /** After a zone's weight, state or serving changed: every instance of it gets its new weight and flag. */
  private recomputeZone(b: Batch, z: ZoneData): void {
    if (this.mergeMode === 'locality') {
      for (const key of z.services) b.dirty.add(key);
      return;
    }
    const stale = z.state === 'stale';
    for (const key of z.services) {
      const slice = this.index.get(key)?.slices[z.index];
      if (!slice) continue;
      const changed: FederatedInstance[] = [];
      for (const inst of slice.values()) {
        const effectiveWeight = flatEffectiveWeight(inst, z.weight, z.serving);
        if (inst.effectiveWeight !== effectiveWeight || inst.stale !== stale) {
          changed.push(reweigh(inst, effectiveWeight, stale));
        }
      }
      for (const inst of changed) {
        this.touchInstance(b, z, key, inst.id);
        slice.set(inst);
      }
    }
  }

  /** Locality: recomputes every instance weight of a service from its zones' healthy ratios. */
  private settleLocality(b: Batch, key: string): void {
    const svc = this.index.get(key);
    if (!svc) return;
    const present = this.zoneList.filter((z) => svc.slices[z.index] !== undefined);
    const inputs: LocalityZone[] = present.map((z) => {
      const s = svc.slices[z.index]!;
      return {
        zoneWeight: z.weight,
        serving: z.serving,
        total: s.size,
        available: s.available,
        availableWeight: s.availableWeight,
        availableWeightMax: s.available > 0 ? s.availableWeightMax() : 0,
      };
    });
    const multipliers = localityMultipliers(inputs, this.opts.overprovisioning);
    present.forEach((z, i) => {
      const slice = svc.slices[z.index]!;
      const stale = z.state === 'stale';
      const changed: FederatedInstance[] = [];
      for (const inst of slice.values()) {
        const effectiveWeight = localityEffectiveWeight(inst, multipliers[i]!);
        if (inst.effectiveWeight !== effectiveWeight || inst.stale !== stale) {
          changed.push(reweigh(inst, effectiveWeight, stale));
        }
      }
      for (const inst of changed) {
        this.touchInstance(b, z, key, inst.id);
        slice.set(inst);
      }
    });
  }

  // -------------------------------------------------------------------------------------------
  // Batches
  // -------------------------------------------------------------------------------------------

  private touchInstance(b: Batch, z: ZoneData, key: string, id: string): void {
    let byService = b.instances.get(z);
    if (!byService) {
      byService = new Map();
      b.instances.set(z, byService);
    }
    let byId = byService.get(key);
    if (!byId) {
      byId = new Map();
      byService.set(key, byId);
    }
    if (byId.has(id)) return;
    byId.set(id, z.serving ? (this.index.get(key)?.slices[z.index]?.get(id) ?? null) : null);
  }

  private touchService(b: Batch, key: string): void {
    if (!b.services.has(key)) b.services.set(key, this.mergedInfo(key));
  }

  private touchNamespace(b: Batch, id: string): void {
    if (!b.namespaces.has(id)) b.namespaces.set(id, this.mergedNamespace(id));
  }

  /** Runs `apply` as one batch, then tells listeners the net changes under one new revision. */
  private run(apply: (b: Batch) => void): void {
    if (this.batch) {
      apply(this.batch);
      return;
    }
    const b = new Batch();
    this.batch = b;
    try {
      apply(b);
      for (const key of b.dirty) this.settleLocality(b, key);
    } finally {
      this.batch = null;
      this.emit(b);
    }
  }

  private emit(b: Batch): void {
    const revision = this.rev + 1;
    const changes: FederatedChange[] = [];
    for (const z of b.zoneStates) changes.push({ kind: 'zoneState', revision, status: this.statusOf(z) });
    for (const z of b.zoneWeights) changes.push({ kind: 'zoneWeight', revision, zone: z.name, weight: z.weight });
    const nsDeletes: FederatedChange[] = [];
    for (const [id, before] of b.namespaces) {
      const after = this.mergedNamespace(id);
      if (after === before) continue;
      if (after) changes.push({ kind: 'namespace', action: 'put', revision, namespace: after });
      else if (before) nsDeletes.push({ kind: 'namespace', action: 'delete', revision, namespace: before });
    }
    const serviceDeletes: FederatedChange[] = [];
    for (const [key, before] of b.services) {
      const after = this.mergedInfo(key);
      if (after === before) continue;
      if (after) changes.push({ kind: 'service', action: 'put', revision, service: after });
      else if (before) serviceDeletes.push({ kind: 'service', action: 'delete', revision, service: before });
    }
    for (const [z, byService] of b.instances) {
      for (const [key, byId] of byService) {
        const slice = z.serving ? this.index.get(key)?.slices[z.index] : undefined;
        for (const [id, before] of byId) {
          const after = slice?.get(id) ?? null;
          if (after === before) continue;
          if (after) changes.push({ kind: 'instance', action: 'put', revision, instance: after });
          else if (before) changes.push({ kind: 'instance', action: 'delete', revision, instance: before });
        }
      }
    }
    changes.push(...serviceDeletes, ...nsDeletes);
    if (changes.length === 0) return;
    this.rev = revision;
    for (const listener of [...this.listeners]) {
      try {
        listener(revision, changes);
      } catch (err) {
        this.opts.logger?.error({ err }, 'a merged-view listener failed');
      }
    }
  }
}

/** The same instance with another effective weight or stale flag (same shape as `federate` builds). */
function reweigh(i: FederatedInstance, effectiveWeight: number, stale: boolean): FederatedInstance {
  return {
    id: i.id,
    namespace: i.namespace,
    group: i.group,
    service: i.service,
    cluster: i.cluster,
    ip: i.ip,
    port: i.port,
    weight: i.weight,
    healthy: i.healthy,
    enabled: i.enabled,
    ephemeral: i.ephemeral,
    zone: i.zone,
    metadata: i.metadata,
    heartbeat: i.heartbeat,
    check: i.check,
    registeredAt: i.registeredAt,
    updatedAt: i.updatedAt,
    revision: i.revision,
    effectiveWeight,
    stale,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
