// An in-memory FederatedView for tests of the federation's outputs (watch, Nacos reads, DNS, UI).
// Zones, instances, services and namespaces are put in by the test; every mutation (or every
// `batch(() => ...)` of them) is one revision, told to onChange listeners after it is applied.
// Effective weights follow the flat rule: round(weight × zoneWeight / 100) for healthy, enabled
// instances of a serving zone, else 0 (mergeMode is only reported).
import {
  EFFECTIVE_WEIGHT_MAX,
  type FederatedChange,
  type FederatedInstance,
  type FederatedService,
  type FederatedServiceSummary,
  type FederatedView,
  type MergeMode,
  type ZoneCount,
  type ZoneState,
  type ZoneStatus,
} from '../../src/federation/federated-view.js';
import type { ServiceRef, WireInstance, WireNamespace, WireService } from '../../src/protocol/wire-model.js';

/** What a test says about a zone; the rest is derived or defaulted (live, serving, weight 100). */
export interface StaticZone {
  readonly zone: string;
  readonly state?: ZoneState;
  readonly serving?: boolean;
  readonly weight?: number;
  readonly replicas?: readonly string[];
}

export interface StaticViewOptions {
  /** Zones in configuration order: names, or settings. */
  readonly zones: readonly (string | StaticZone)[];
  readonly mergeMode?: MergeMode;
  /** The revision before the first change (default 1000). */
  readonly revision?: number;
  readonly ready?: boolean;
}

/** An instance as a test gives it: where it is and what it is; the rest defaults. */
export interface InstanceInput {
  readonly zone: string;
  readonly service: string;
  readonly ip: string;
  readonly port: number;
  readonly namespace?: string;
  readonly group?: string;
  readonly cluster?: string;
  readonly weight?: number;
  readonly healthy?: boolean;
  readonly enabled?: boolean;
  readonly ephemeral?: boolean;
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ServiceInput {
  readonly service: string;
  readonly namespace?: string;
  readonly group?: string;
  readonly protectThreshold?: number;
  readonly metadata?: Readonly<Record<string, string>>;
}

interface ZoneEntry {
  readonly zone: string;
  state: ZoneState;
  serving: boolean;
  weight: number;
  staleSinceMs: number | null;
  readonly replicas: readonly string[];
  /** Instances by id, as the zone holds them. */
  readonly instances: Map<string, WireInstance>;
}

/** A change before its batch is given a revision. */
type WithoutRevision<C> = C extends unknown ? Omit<C, 'revision'> : never;
type PendingChange = WithoutRevision<FederatedChange>;

const refKey = (r: { namespace: string; group: string; service: string }): string =>
  `${r.namespace}/${r.group}/${r.service}`;

export class StaticView implements FederatedView {
  readonly mergeMode: MergeMode;
  ready: boolean;
  private rev: number;
  private readonly zoneList: ZoneEntry[];
  private readonly zoneByName = new Map<string, ZoneEntry>();
  private readonly servicesByKey = new Map<string, WireService>();
  private readonly namespacesById = new Map<string, WireNamespace>();
  private readonly listeners = new Set<(revision: number, changes: readonly FederatedChange[]) => void>();
  private pending: PendingChange[] | null = null;

  constructor(opts: StaticViewOptions) {
    this.mergeMode = opts.mergeMode ?? 'flat';
    this.rev = opts.revision ?? 1000;
    this.ready = opts.ready ?? true;
    this.zoneList = opts.zones.map((z) => {
      const s: StaticZone = typeof z === 'string' ? { zone: z } : z;
      const state = s.state ?? 'live';
      return {
        zone: s.zone,
        state,
        serving: s.serving ?? true,
        weight: s.weight ?? 100,
        staleSinceMs: state === 'live' ? null : Date.now(),
        replicas: s.replicas ?? [`http://${s.zone}.invalid:8848`],
        instances: new Map(),
      };
    });
    for (const z of this.zoneList) {
      if (this.zoneByName.has(z.zone)) throw new Error(`static view: zone ${z.zone} given twice`);
      this.zoneByName.set(z.zone, z);
    }
    this.namespacesById.set('public', { id: 'public', name: 'public', description: '' });
  }

  // -----------------------------------------------------------------------------------------------
  // FederatedView
  // -----------------------------------------------------------------------------------------------

  get revision(): number {
    return this.rev;
  }

  zones(): readonly ZoneStatus[] {
    return this.zoneList.map((z) => this.statusOf(z));
  }

  namespaces(): readonly WireNamespace[] {
    return [...this.namespacesById.values()];
  }

  listServices(filter: { readonly namespace?: string; readonly group?: string } = {}): FederatedServiceSummary[] {
    const keys = new Map<string, ServiceRef>();
    for (const s of this.servicesByKey.values()) keys.set(refKey(s), s);
    for (const inst of this.allInstances()) keys.set(refKey(inst), inst);
    return [...keys.values()]
      .filter((r) => filter.namespace === undefined || r.namespace === filter.namespace)
      .filter((r) => filter.group === undefined || r.group === filter.group)
      .sort((a, b) => (refKey(a) < refKey(b) ? -1 : 1))
      .map((r) => summaryOf(r, this.instancesOf(r)));
  }

  service(ref: ServiceRef): FederatedService | undefined {
    const info = this.servicesByKey.get(refKey(ref)) ?? null;
    const instances = this.instancesOf(ref);
    if (info === null && instances.length === 0) return undefined;
    return { ...summaryOf(ref, instances), info, instances };
  }

  *allInstances(): Iterable<FederatedInstance> {
    for (const z of this.zoneList) {
      if (!z.serving) continue;
      for (const inst of sortedById(z.instances)) yield this.federated(z, inst);
    }
  }

  onChange(listener: (revision: number, changes: readonly FederatedChange[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // -----------------------------------------------------------------------------------------------
  // Mutations (each one revision, or one per batch)
  // -----------------------------------------------------------------------------------------------

  /** Runs `fn`; every change it makes goes out as one batch, at one revision. */
  batch(fn: () => void): void {
    if (this.pending !== null) {
      fn();
      return;
    }
    this.pending = [];
    try {
      fn();
    } finally {
      const changes = this.pending;
      this.pending = null;
      this.commit(changes);
    }
  }

  putInstance(input: InstanceInput): FederatedInstance {
    const z = this.zoneOf(input.zone);
    const namespace = input.namespace ?? 'public';
    const group = input.group ?? 'DEFAULT_GROUP';
    const cluster = input.cluster ?? 'DEFAULT';
    const id = `${input.ip}#${input.port}#${cluster}#${group}@@${input.service}`;
    const before = z.instances.get(id);
    const nowMs = Date.now();
    const inst: WireInstance = {
      id,
      namespace,
      group,
      service: input.service,
      cluster,
      ip: input.ip,
      port: input.port,
      weight: input.weight ?? 100,
      healthy: input.healthy ?? true,
      enabled: input.enabled ?? true,
      ephemeral: input.ephemeral ?? true,
      zone: z.zone,
      metadata: { ...(input.metadata ?? {}) },
      heartbeat: { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 30_000 },
      check: null,
      registeredAt: before?.registeredAt ?? nowMs,
      updatedAt: nowMs,
      revision: this.nextRevision(),
    };
    let out!: FederatedInstance;
    this.batch(() => {
      z.instances.set(id, inst);
      out = this.federated(z, inst);
      if (z.serving) this.record({ kind: 'instance', action: 'put', instance: out });
    });
    return out;
  }

  /** Removes an instance by id (`ip#port#cluster#group@@service`) from its zone; false if absent. */
  deleteInstance(zone: string, id: string): boolean {
    const z = this.zoneOf(zone);
    const inst = z.instances.get(id);
    if (!inst) return false;
    this.batch(() => {
      z.instances.delete(id);
      if (z.serving) this.record({ kind: 'instance', action: 'delete', instance: this.federated(z, inst) });
    });
    return true;
  }

  putService(input: ServiceInput): WireService {
    const svc: WireService = {
      namespace: input.namespace ?? 'public',
      group: input.group ?? 'DEFAULT_GROUP',
      service: input.service,
      protectThreshold: input.protectThreshold ?? 0,
      metadata: { ...(input.metadata ?? {}) },
      createdAt: this.servicesByKey.get(refKey(fullRef(input)))?.createdAt ?? Date.now(),
      revision: 0,
    };
    this.batch(() => {
      const stored = { ...svc, revision: this.nextRevision() };
      this.servicesByKey.set(refKey(stored), stored);
      this.record({ kind: 'service', action: 'put', service: stored });
    });
    return this.servicesByKey.get(refKey(svc))!;
  }

  deleteService(ref: { service: string; namespace?: string; group?: string }): boolean {
    const key = refKey(fullRef(ref));
    const svc = this.servicesByKey.get(key);
    if (!svc) return false;
    this.batch(() => {
      this.servicesByKey.delete(key);
      this.record({ kind: 'service', action: 'delete', service: svc });
    });
    return true;
  }

  putNamespace(ns: WireNamespace): void {
    this.batch(() => {
      this.namespacesById.set(ns.id, { ...ns });
      this.record({ kind: 'namespace', action: 'put', namespace: { ...ns } });
    });
  }

  deleteNamespace(id: string): boolean {
    const ns = this.namespacesById.get(id);
    if (!ns) return false;
    this.batch(() => {
      this.namespacesById.delete(id);
      this.record({ kind: 'namespace', action: 'delete', namespace: ns });
    });
    return true;
  }

  /** Sets a zone's traffic weight (0-100); its instances are re-emitted with new effective weights. */
  setZoneWeight(zone: string, weight: number): void {
    if (!Number.isInteger(weight) || weight < 0 || weight > 100) throw new Error(`zone weight ${weight} not 0-100`);
    const z = this.zoneOf(zone);
    this.batch(() => {
      z.weight = weight;
      this.record({ kind: 'zoneWeight', zone: z.zone, weight });
      if (z.serving) this.reemit(z, 'put');
    });
  }

  /**
   * Sets a zone's state (and whether it serves: default true unless `drop`ped). Instances of a zone
   * that stops serving leave the view (deletes); of one that starts serving, they come back (puts);
   * otherwise they are re-emitted (their `stale` flag may change).
   */
  setZoneState(zone: string, state: ZoneState, serving = true): void {
    const z = this.zoneOf(zone);
    this.batch(() => {
      const wasServing = z.serving;
      if (state === 'live') z.staleSinceMs = null;
      else if (z.state === 'live' || z.staleSinceMs === null) z.staleSinceMs = Date.now();
      z.state = state;
      z.serving = serving;
      this.record({ kind: 'zoneState', status: this.statusOf(z) });
      if (wasServing && !serving) this.reemit(z, 'delete');
      else if (serving) this.reemit(z, 'put');
    });
  }

  // -----------------------------------------------------------------------------------------------

  private zoneOf(zone: string): ZoneEntry {
    const z = this.zoneByName.get(zone);
    if (!z) throw new Error(`static view: no zone ${zone}`);
    return z;
  }

  private nextRevision(): number {
    return this.rev + 1;
  }

  private record(change: PendingChange): void {
    if (this.pending === null) throw new Error('static view: change outside a batch');
    this.pending.push(change);
  }

  private commit(changes: PendingChange[]): void {
    if (changes.length === 0) return;
    const revision = ++this.rev;
    const stamped = changes.map((c) => ({ ...c, revision }) as FederatedChange);
    for (const l of [...this.listeners]) l(revision, stamped);
  }

  private reemit(z: ZoneEntry, action: 'put' | 'delete'): void {
    for (const inst of sortedById(z.instances)) {
      this.record({ kind: 'instance', action, instance: this.federated(z, inst) });
    }
  }

  private federated(z: ZoneEntry, inst: WireInstance): FederatedInstance {
    const serves = inst.healthy && inst.enabled && z.serving && z.weight > 0;
    const effectiveWeight = serves ? Math.min(EFFECTIVE_WEIGHT_MAX, Math.round((inst.weight * z.weight) / 100)) : 0;
    return { ...inst, effectiveWeight, stale: z.serving && z.state === 'stale' };
  }

  private instancesOf(ref: ServiceRef): FederatedInstance[] {
    const key = refKey(ref);
    const out: FederatedInstance[] = [];
    for (const z of this.zoneList) {
      if (!z.serving) continue;
      for (const inst of sortedById(z.instances)) if (refKey(inst) === key) out.push(this.federated(z, inst));
    }
    return out;
  }

  private statusOf(z: ZoneEntry): ZoneStatus {
    const services = new Set<string>();
    let healthy = 0;
    for (const inst of z.instances.values()) {
      services.add(refKey(inst));
      if (inst.healthy) healthy++;
    }
    return {
      zone: z.zone,
      state: z.state,
      staleSinceMs: z.staleSinceMs,
      serving: z.serving,
      replica: z.state === 'live' ? (z.replicas[0] ?? null) : null,
      replicas: z.replicas,
      revision: this.rev,
      weight: z.weight,
      services: services.size,
      instances: z.instances.size,
      healthyInstances: healthy,
      lastContactMs: z.state === 'live' ? Date.now() : null,
    };
  }
}

function fullRef(r: { service: string; namespace?: string; group?: string }): ServiceRef {
  return { namespace: r.namespace ?? 'public', group: r.group ?? 'DEFAULT_GROUP', service: r.service };
}

function sortedById(m: ReadonlyMap<string, WireInstance>): WireInstance[] {
  return [...m.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function summaryOf(ref: ServiceRef, instances: readonly FederatedInstance[]): FederatedServiceSummary {
  const zones: Record<string, { total: number; healthy: number; serving: number; weight: number }> = {};
  let sum = 0;
  for (const inst of instances) {
    const c = zones[inst.zone] ?? { total: 0, healthy: 0, serving: 0, weight: 0 };
    zones[inst.zone] = c;
    c.total++;
    if (inst.healthy) c.healthy++;
    if (inst.effectiveWeight > 0) c.serving++;
    c.weight += inst.effectiveWeight;
    sum += inst.effectiveWeight;
  }
  const counts: Record<string, ZoneCount> = {};
  for (const [zone, c] of Object.entries(zones)) {
    counts[zone] = { total: c.total, healthy: c.healthy, serving: c.serving, share: sum > 0 ? c.weight / sum : 0 };
  }
  return {
    namespace: ref.namespace,
    group: ref.group,
    service: ref.service,
    zones: counts,
    total: instances.length,
    healthy: instances.filter((i) => i.healthy).length,
  };
}
