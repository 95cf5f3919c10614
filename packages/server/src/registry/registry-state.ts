import type { ErrorCode } from '../errors.js';
import type { Command, RegisterSpec } from './commands.js';
import { Interner } from './interner.js';
import {
  type Check,
  DEFAULT_NAMESPACE,
  type Heartbeat,
  type Instance,
  type InstanceKey,
  instanceIdOf,
  type Lease,
  type Metadata,
  type Namespace,
  type ServiceInfo,
  type ServiceKey,
  serviceKeyOf,
} from './model.js';
import { ServiceIndex } from './service-index.js';
import { type InstanceFields, SnapshotDecoder, SnapshotEncoder, type SnapshotHeader } from './snapshot-codec.js';

/** One change to the registry, as watchers see it. `revision` is the Raft index that made it. */
export type Change =
  | {
      readonly kind: 'instance';
      readonly action: 'put' | 'delete';
      readonly instance: Instance;
      readonly revision: number;
    }
  | {
      readonly kind: 'service';
      readonly action: 'put' | 'delete';
      readonly service: ServiceInfo;
      readonly revision: number;
    }
  | {
      readonly kind: 'namespace';
      readonly action: 'put' | 'delete';
      readonly namespace: Namespace;
      readonly revision: number;
    }
  | { readonly kind: 'zoneWeight'; readonly zone: string; readonly weight: number; readonly revision: number };

export type ApplyResult =
  | { readonly ok: true; readonly instance?: Instance; readonly changed: number }
  | { readonly ok: false; readonly code: ErrorCode; readonly message: string };

export interface Session {
  readonly id: string;
  readonly ttlMs: number;
  readonly openedAt: number;
}

interface ServiceRecord {
  info: ServiceInfo;
  readonly instances: Map<string, Instance>;
  /** Revision of the last change to the service's instances (0: none yet). */
  instancesRevision: number;
}

/** The instances an SDK session keeps alive, and the lease object they all share. */
interface SessionMembers {
  readonly lease: Lease;
  readonly byService: Map<ServiceRecord, Set<string>>;
}

/** The JSON export (`snapshot()`), also the snapshot format before CRS2; `restore` still reads it. */
interface SnapshotShape {
  readonly format: 'cairn-registry/1';
  readonly revision: number;
  readonly namespaces: Namespace[];
  readonly services: { info: ServiceInfo; instances: Instance[] }[];
  readonly sessions: Session[];
  readonly zoneWeights: [string, number][];
}

/**
 * A snapshot being encoded while the state moves on (copy-on-write): services not encoded yet get a
 * copy of their instances taken just before their first change, so the encoder sees the state as it
 * was when the snapshot began.
 */
interface Capture {
  readonly pending: Set<ServiceRecord>;
  readonly preserved: Map<ServiceRecord, Instance[]>;
}

export interface SliceOptions {
  /** Longest the work runs before it lets the event loop serve others. */
  readonly sliceMs?: number;
}

const PUBLIC_NAMESPACE: Namespace = { id: DEFAULT_NAMESPACE, name: 'public', description: 'The default namespace' };
const INSTANCE_LEASE: Lease = Object.freeze({ kind: 'instance' });
/** Instances encoded or decoded between looks at the clock. */
const STEP_INSTANCES = 256;
const DEFAULT_SLICE_MS = 8;

/**
 * The registry's replicated state. `apply` is deterministic: it reads no clock (timestamps come in the
 * command) and no randomness, so every replica that applies the same log holds the same state.
 * Commands that cannot take effect (a missing instance, say) change nothing and return a refusal.
 *
 * Instances are immutable objects, replaced whole on every change. Values that repeat across
 * instances (metadata maps, heartbeat settings, checks, cluster and zone names, session leases) are
 * shared and frozen, and namespace, group and service names come from the service's record, so an
 * instance costs little more than its own object, id and address.
 */
export class RegistryState {
  revision = 0;
  private readonly namespaces = new Map<string, Namespace>([[PUBLIC_NAMESPACE.id, PUBLIC_NAMESPACE]]);
  private readonly services = new ServiceIndex<ServiceRecord>();
  private readonly sessions = new Map<string, Session>();
  private readonly sessionMembers = new Map<string, SessionMembers>();
  private readonly zoneWeights = new Map<string, number>();
  private instanceCount = 0;
  /** Services and instances per namespace, kept as they change (for quota checks at the edge). */
  private readonly namespaceCounts = new Map<string, { services: number; instances: number }>();
  private readonly names = new Interner<string>((s) => s);
  private readonly metadataMaps = new Interner<Metadata>(
    (m) => JSON.stringify(m),
    (m) => Object.freeze(m),
  );
  private readonly heartbeats = new Interner<Heartbeat>(
    (h) => `${h.intervalMs}/${h.unhealthyAfterMs}/${h.expireAfterMs}`,
    (h) =>
      Object.freeze({ intervalMs: h.intervalMs, unhealthyAfterMs: h.unhealthyAfterMs, expireAfterMs: h.expireAfterMs }),
  );
  private readonly checks = new Interner<Check>(
    (c) => JSON.stringify(c),
    (c) => Object.freeze(c),
  );
  private capture: Capture | null = null;

  apply(index: number, cmd: Command): { result: ApplyResult; changes: Change[] } {
    if (index <= this.revision) throw new Error(`registry: entry ${index} applied after ${this.revision}`);
    this.revision = index;
    const changes: Change[] = [];
    const result = this.dispatch(cmd, index, changes);
    return { result, changes };
  }

  private dispatch(cmd: Command, rev: number, changes: Change[]): ApplyResult {
    switch (cmd.op) {
      case 'register':
        return this.register(cmd.instance, cmd.ts, rev, changes);
      case 'deregister':
        return this.removeInstance(cmd.key, rev, changes)
          ? { ok: true, changed: 1 }
          : { ok: false, code: 'NOT_FOUND', message: `no instance ${describe(cmd.key)}` };
      case 'update':
        return this.update(cmd, rev, changes);
      case 'health': {
        let changed = 0;
        for (const { key, healthy } of cmd.changes) {
          const rec = this.services.get(key);
          const cur = rec?.instances.get(instanceIdOf(key));
          if (!rec || !cur || cur.healthy === healthy) continue;
          this.putInstance(rec, withChanges(cur, { healthy, updatedAt: cmd.ts, revision: rev }), cur, rev, changes);
          changed++;
        }
        return { ok: true, changed };
      }
      case 'expire': {
        let changed = 0;
        for (const key of cmd.keys) {
          const cur = this.instance(key);
          if (cur?.ephemeral && this.removeInstance(key, rev, changes)) changed++;
        }
        return { ok: true, changed };
      }
      case 'session.open':
        if (!this.sessions.has(cmd.sessionId)) {
          this.sessions.set(cmd.sessionId, { id: cmd.sessionId, ttlMs: cmd.ttlMs, openedAt: cmd.ts });
        }
        return { ok: true, changed: 1 };
      case 'session.close': {
        let changed = 0;
        for (const id of cmd.sessionIds) changed += this.closeSession(id, rev, changes);
        return { ok: true, changed };
      }
      case 'service.put':
        return this.putService(cmd, rev, changes);
      case 'service.delete': {
        const rec = this.services.get(cmd.key);
        if (!rec) return { ok: false, code: 'NOT_FOUND', message: `no service ${serviceKeyOf(cmd.key)}` };
        if (rec.instances.size > 0) {
          return {
            ok: false,
            code: 'CONFLICT',
            message: `service ${serviceKeyOf(cmd.key)} still has ${rec.instances.size} instances; deregister them first`,
          };
        }
        this.services.delete(cmd.key);
        this.count(cmd.key.namespace, 'services', -1);
        changes.push({ kind: 'service', action: 'delete', service: rec.info, revision: rev });
        return { ok: true, changed: 1 };
      }
      case 'namespace.put':
        this.namespaces.set(cmd.namespace.id, cmd.namespace);
        changes.push({ kind: 'namespace', action: 'put', namespace: cmd.namespace, revision: rev });
        return { ok: true, changed: 1 };
      case 'namespace.delete': {
        const ns = this.namespaces.get(cmd.id);
        if (!ns) return { ok: false, code: 'NOT_FOUND', message: `no namespace ${cmd.id}` };
        if (cmd.id === DEFAULT_NAMESPACE) return { ok: false, code: 'CONFLICT', message: 'the public namespace stays' };
        const used = this.serviceCountIn(cmd.id);
        if (used > 0) {
          return {
            ok: false,
            code: 'CONFLICT',
            message: `namespace ${cmd.id} still has ${used} services; delete them first`,
          };
        }
        this.namespaces.delete(cmd.id);
        changes.push({ kind: 'namespace', action: 'delete', namespace: ns, revision: rev });
        return { ok: true, changed: 1 };
      }
      case 'zone.weight':
        this.zoneWeights.set(cmd.zone, cmd.weight);
        changes.push({ kind: 'zoneWeight', zone: cmd.zone, weight: cmd.weight, revision: rev });
        return { ok: true, changed: 1 };
    }
  }

  private register(spec: RegisterSpec, ts: number, rev: number, changes: Change[]): ApplyResult {
    if (!this.namespaces.has(spec.namespace)) {
      return { ok: false, code: 'NOT_FOUND', message: `no namespace ${spec.namespace}; create it first` };
    }
    if (spec.lease?.kind === 'session' && !this.sessions.has(spec.lease.sessionId)) {
      return {
        ok: false,
        code: 'NOT_FOUND',
        message: `session ${spec.lease.sessionId} has expired or was never opened`,
      };
    }
    const rec = this.serviceFor(spec, ts, rev, changes);
    const prev = rec.instances.get(instanceIdOf(spec));
    const next = this.build(rec, prev?.id ?? storedIdOf(spec), {
      cluster: spec.cluster,
      ip: prev?.ip ?? spec.ip,
      port: spec.port,
      weight: spec.weight,
      healthy: spec.healthy,
      enabled: spec.enabled,
      ephemeral: spec.ephemeral,
      zone: spec.zone,
      metadata: spec.metadata,
      heartbeat: spec.heartbeat,
      sessionId: spec.lease === null ? null : spec.lease.kind === 'session' ? spec.lease.sessionId : '',
      check: spec.check,
      registeredAt: prev?.registeredAt ?? ts,
      updatedAt: ts,
      revision: rev,
    });
    if (prev && sameInstance(prev, next)) return { ok: true, instance: prev, changed: 0 };
    this.putInstance(rec, next, prev, rev, changes);
    return { ok: true, instance: next, changed: 1 };
  }

  private update(cmd: Extract<Command, { op: 'update' }>, rev: number, changes: Change[]): ApplyResult {
    const rec = this.services.get(cmd.key);
    const cur = rec?.instances.get(instanceIdOf(cmd.key));
    if (!rec || !cur) return { ok: false, code: 'NOT_FOUND', message: `no instance ${describe(cmd.key)}` };
    const next = withChanges(cur, {
      weight: cmd.patch.weight ?? cur.weight,
      enabled: cmd.patch.enabled ?? cur.enabled,
      metadata: cmd.patch.metadata === undefined ? cur.metadata : this.metadataMaps.canonical(cmd.patch.metadata),
      updatedAt: cmd.ts,
      revision: rev,
    });
    if (sameInstance(cur, next)) return { ok: true, instance: cur, changed: 0 };
    this.putInstance(rec, next, cur, rev, changes);
    return { ok: true, instance: next, changed: 1 };
  }

  private putService(cmd: Extract<Command, { op: 'service.put' }>, rev: number, changes: Change[]): ApplyResult {
    const { service } = cmd;
    if (!this.namespaces.has(service.namespace)) {
      return { ok: false, code: 'NOT_FOUND', message: `no namespace ${service.namespace}; create it first` };
    }
    const rec = this.services.get(service);
    const info: ServiceInfo = {
      namespace: rec?.info.namespace ?? service.namespace,
      group: rec?.info.group ?? service.group,
      service: rec?.info.service ?? service.service,
      protectThreshold: service.protectThreshold,
      metadata: service.metadata,
      createdAt: rec?.info.createdAt ?? cmd.ts,
      revision: rev,
    };
    if (rec) rec.info = info;
    else {
      this.services.add(info, { info, instances: new Map(), instancesRevision: 0 });
      this.count(service.namespace, 'services', 1);
    }
    changes.push({ kind: 'service', action: 'put', service: info, revision: rev });
    return { ok: true, changed: 1 };
  }

  /** The service an instance registers into, created on first use with default settings. */
  private serviceFor(k: ServiceKey, ts: number, rev: number, changes: Change[]): ServiceRecord {
    let rec = this.services.get(k);
    if (!rec) {
      const info: ServiceInfo = {
        namespace: k.namespace,
        group: k.group,
        service: k.service,
        protectThreshold: 0,
        metadata: {},
        createdAt: ts,
        revision: rev,
      };
      rec = { info, instances: new Map(), instancesRevision: 0 };
      this.services.add(info, rec);
      this.count(k.namespace, 'services', 1);
      changes.push({ kind: 'service', action: 'put', service: info, revision: rev });
    }
    return rec;
  }

  /**
   * An instance of `rec` made of shared values: names from the service record, everything that
   * repeats across instances from the interners. Nothing is retained yet (see putInstance).
   */
  private build(rec: ServiceRecord, id: string, f: InstanceFields): Instance {
    const { namespace, group, service } = rec.info;
    return {
      namespace,
      group,
      service,
      cluster: this.names.canonical(f.cluster),
      ip: f.ip,
      port: f.port,
      weight: f.weight,
      healthy: f.healthy,
      enabled: f.enabled,
      ephemeral: f.ephemeral,
      zone: this.names.canonical(f.zone),
      metadata: this.metadataMaps.canonical(f.metadata),
      heartbeat: this.heartbeats.canonical(f.heartbeat),
      lease: f.sessionId === null ? null : f.sessionId === '' ? INSTANCE_LEASE : this.sessionLease(f.sessionId),
      check: f.check === null ? null : this.checks.canonical(f.check),
      id,
      registeredAt: f.registeredAt,
      updatedAt: f.updatedAt,
      revision: f.revision,
    };
  }

  private sessionLease(sessionId: string): Lease {
    let members = this.sessionMembers.get(sessionId);
    if (!members) {
      members = { lease: Object.freeze({ kind: 'session', sessionId }), byService: new Map() };
      this.sessionMembers.set(sessionId, members);
    }
    return members.lease;
  }

  /** Stores `next` in place of `prev` (if any): shared values change hands, session membership follows. */
  private putInstance(
    rec: ServiceRecord,
    next: Instance,
    prev: Instance | undefined,
    rev: number,
    changes: Change[],
  ): void {
    this.beforeInstancesChange(rec);
    if (!prev) {
      this.instanceCount++;
      this.count(next.namespace, 'instances', 1);
    }
    this.retain(next);
    if (prev) this.release(prev);
    rec.instances.set(next.id, next);
    rec.instancesRevision = rev;
    if (prev?.lease !== next.lease) {
      if (prev?.lease?.kind === 'session') this.leaveSession(prev.lease.sessionId, rec, prev.id);
      if (next.lease?.kind === 'session') this.joinSession(next.lease.sessionId, rec, next.id);
    }
    changes.push({ kind: 'instance', action: 'put', instance: next, revision: rev });
  }

  private removeInstance(key: InstanceKey, rev: number, changes: Change[]): boolean {
    const rec = this.services.get(key);
    const inst = rec?.instances.get(instanceIdOf(key));
    if (!rec || !inst) return false;
    this.beforeInstancesChange(rec);
    rec.instances.delete(inst.id);
    rec.instancesRevision = rev;
    this.instanceCount--;
    this.count(inst.namespace, 'instances', -1);
    this.release(inst);
    if (inst.lease?.kind === 'session') this.leaveSession(inst.lease.sessionId, rec, inst.id);
    changes.push({ kind: 'instance', action: 'delete', instance: withChanges(inst, { revision: rev }), revision: rev });
    return true;
  }

  private retain(i: Instance): void {
    this.names.retain(i.cluster);
    this.names.retain(i.zone);
    this.metadataMaps.retain(i.metadata);
    this.heartbeats.retain(i.heartbeat);
    if (i.check !== null) this.checks.retain(i.check);
  }

  private release(i: Instance): void {
    this.names.release(i.cluster);
    this.names.release(i.zone);
    this.metadataMaps.release(i.metadata);
    this.heartbeats.release(i.heartbeat);
    if (i.check !== null) this.checks.release(i.check);
  }

  private joinSession(sessionId: string, rec: ServiceRecord, id: string): void {
    const members = this.sessionMembers.get(sessionId);
    if (!members) throw new Error(`registry: instance ${id} joins session ${sessionId} without its lease`);
    let ids = members.byService.get(rec);
    if (!ids) {
      ids = new Set();
      members.byService.set(rec, ids);
    }
    ids.add(id);
  }

  private leaveSession(sessionId: string, rec: ServiceRecord, id: string): void {
    const ids = this.sessionMembers.get(sessionId)?.byService.get(rec);
    if (!ids) return;
    ids.delete(id);
    if (ids.size === 0) this.sessionMembers.get(sessionId)?.byService.delete(rec);
  }

  private closeSession(id: string, rev: number, changes: Change[]): number {
    const members = this.sessionMembers.get(id);
    this.sessions.delete(id);
    this.sessionMembers.delete(id);
    let removed = 0;
    for (const [rec, ids] of members?.byService ?? []) {
      for (const instanceId of ids) {
        const inst = rec.instances.get(instanceId);
        if (inst && this.removeInstance(inst, rev, changes)) removed++;
      }
    }
    return removed;
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  instance(key: InstanceKey): Instance | undefined {
    return this.services.get(key)?.instances.get(instanceIdOf(key));
  }

  service(key: ServiceKey): ServiceInfo | undefined {
    return this.services.get(key)?.info;
  }

  instancesOf(key: ServiceKey): Instance[] {
    return [...(this.services.get(key)?.instances.values() ?? [])];
  }

  /** Services, sorted by namespace, group, name. */
  listServices(filter: { namespace?: string; group?: string; nameContains?: string } = {}): ServiceInfo[] {
    const out: ServiceInfo[] = [];
    for (const rec of this.services.values()) {
      const s = rec.info;
      if (filter.namespace !== undefined && s.namespace !== filter.namespace) continue;
      if (filter.group !== undefined && s.group !== filter.group) continue;
      if (filter.nameContains && !s.service.includes(filter.nameContains)) continue;
      out.push(s);
    }
    return out.sort((a, b) => serviceKeyOf(a).localeCompare(serviceKeyOf(b)));
  }

  /**
   * The revision of the last change to a service's instances: a view of them (a serialized answer,
   * say) made at this revision stays valid until it moves, within this state object (a restored
   * snapshot replaces the state whole). Undefined for a service that does not exist.
   */
  instancesRevisionOf(key: ServiceKey): number | undefined {
    return this.services.get(key)?.instancesRevision;
  }

  instanceCountOf(key: ServiceKey): number {
    return this.services.get(key)?.instances.size ?? 0;
  }

  /** Instances of a namespace, in O(1). */
  instanceCountIn(namespace: string): number {
    return this.namespaceCounts.get(namespace)?.instances ?? 0;
  }

  /** Services of a namespace, in O(1). */
  serviceCountIn(namespace: string): number {
    return this.namespaceCounts.get(namespace)?.services ?? 0;
  }

  get totalNamespaces(): number {
    return this.namespaces.size;
  }

  private count(namespace: string, what: 'services' | 'instances', delta: 1 | -1): void {
    const c = this.namespaceCounts.get(namespace) ?? { services: 0, instances: 0 };
    c[what] += delta;
    if (c.services === 0 && c.instances === 0) this.namespaceCounts.delete(namespace);
    else this.namespaceCounts.set(namespace, c);
  }

  listNamespaces(): Namespace[] {
    return [...this.namespaces.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  namespaceExists(id: string): boolean {
    return this.namespaces.has(id);
  }

  session(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  listSessions(): Session[] {
    return [...this.sessions.values()];
  }

  zoneWeight(zone: string): number | undefined {
    return this.zoneWeights.get(zone);
  }

  listZoneWeights(): [string, number][] {
    return [...this.zoneWeights.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  }

  /** Every instance, for lease and check bookkeeping and for snapshot watches. */
  *allInstances(): IterableIterator<Instance> {
    for (const rec of this.services.values()) yield* rec.instances.values();
  }

  get totalInstances(): number {
    return this.instanceCount;
  }

  get totalServices(): number {
    return this.services.size;
  }

  /** Distinct shared values held (metadata maps, heartbeat settings, checks, names), for tests and metrics. */
  get sharedValueCounts(): { metadata: number; heartbeats: number; checks: number; names: number } {
    return {
      metadata: this.metadataMaps.size,
      heartbeats: this.heartbeats.size,
      checks: this.checks.size,
      names: this.names.size,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Snapshots
  // -------------------------------------------------------------------------------------------

  /**
   * The whole state as JSON, at once (for tests, digests and tools; Raft stores `encodeSnapshot`'s
   * binary form). `restore` reads both.
   */
  snapshot(): Uint8Array {
    const shape: SnapshotShape = {
      format: 'cairn-registry/1',
      revision: this.revision,
      namespaces: this.listNamespaces(),
      services: [...this.services.values()].map((r) => ({ info: r.info, instances: [...r.instances.values()] })),
      sessions: this.listSessions(),
      zoneWeights: this.listZoneWeights(),
    };
    return Buffer.from(JSON.stringify(shape));
  }

  /**
   * The state as of now in the binary snapshot format, encoded in slices of about `sliceMs` while
   * the event loop (and `apply`) carry on: the state is captured when this is called, and changes
   * applied meanwhile do not show in the result. Starting another snapshot abandons this one.
   */
  async encodeSnapshot(options: SliceOptions = {}): Promise<Uint8Array> {
    return runInSlices(this.beginSnapshot(), options.sliceMs ?? DEFAULT_SLICE_MS);
  }

  /** The same, at once. */
  encodeSnapshotNow(): Uint8Array {
    return runToEnd(this.beginSnapshot());
  }

  private beginSnapshot(): Generator<void, Uint8Array> {
    const records = [...this.services.values()];
    const capture: Capture = { pending: new Set(records), preserved: new Map() };
    this.capture = capture;
    const header: SnapshotHeader = {
      namespaces: this.listNamespaces(),
      sessions: this.listSessions(),
      zoneWeights: this.listZoneWeights(),
    };
    // Infos are replaced, never changed in place: the captured ones are those of now.
    const infos = records.map((r) => r.info);
    return this.encodeSteps(capture, new SnapshotEncoder(this.revision, header, records.length), records, infos);
  }

  private *encodeSteps(
    capture: Capture,
    enc: SnapshotEncoder,
    records: readonly ServiceRecord[],
    infos: readonly ServiceInfo[],
  ): Generator<void, Uint8Array> {
    try {
      let budget = STEP_INSTANCES;
      for (let s = 0; s < records.length; s++) {
        const rec = records[s]!;
        let copy = capture.preserved.get(rec);
        let live = copy ? undefined : rec.instances.values();
        const count = copy ? copy.length : rec.instances.size;
        enc.service(infos[s]!, count);
        let k = 0;
        while (k < count) {
          if (this.capture !== capture) throw new Error('registry: a newer snapshot replaced this one');
          // Changes happen only while this generator is suspended: look for a copy after each pause.
          if (live) {
            copy = capture.preserved.get(rec);
            if (copy) live = undefined;
          }
          const end = Math.min(count, k + budget);
          budget -= end - k;
          if (copy) for (; k < end; k++) enc.instance(copy[k]!);
          else for (; k < end; k++) enc.instance(live!.next().value as Instance);
          if (budget === 0) {
            budget = STEP_INSTANCES;
            yield;
          }
        }
        capture.pending.delete(rec);
        capture.preserved.delete(rec);
      }
      return enc.finish();
    } finally {
      if (this.capture === capture) this.capture = null;
    }
  }

  /** Copy-on-write for a snapshot in progress: keeps what the snapshot still has to encode. */
  private beforeInstancesChange(rec: ServiceRecord): void {
    const c = this.capture;
    if (c === null || !c.pending.has(rec) || c.preserved.has(rec)) return;
    c.preserved.set(rec, [...rec.instances.values()]);
  }

  /** A state from either snapshot format (binary from `encodeSnapshot`, or the JSON of `snapshot`), at once. */
  static restore(bytes: Uint8Array): RegistryState {
    return runToEnd(RegistryState.restoreSteps(bytes));
  }

  /** The same, decoding in slices of about `sliceMs` so that the event loop keeps serving meanwhile. */
  static async restoreInSlices(bytes: Uint8Array, options: SliceOptions = {}): Promise<RegistryState> {
    return runInSlices(RegistryState.restoreSteps(bytes), options.sliceMs ?? DEFAULT_SLICE_MS);
  }

  private static *restoreSteps(bytes: Uint8Array): Generator<void, RegistryState> {
    const state = new RegistryState();
    if (bytes.length === 0) return state;
    if (!SnapshotDecoder.recognizes(bytes)) return RegistryState.restoreJson(bytes);
    const d = new SnapshotDecoder(bytes);
    state.revision = d.revision();
    state.restoreHeader(d.header());
    let budget = STEP_INSTANCES;
    for (let s = d.count(); s > 0; s--) {
      const rec = state.restoreService(d.serviceInfo());
      for (let n = d.count(); n > 0; n--) {
        state.restoreInstance(rec, d.instance());
        if (--budget === 0) {
          budget = STEP_INSTANCES;
          yield;
        }
      }
    }
    d.end();
    state.markRestored();
    return state;
  }

  private static restoreJson(bytes: Uint8Array): RegistryState {
    const state = new RegistryState();
    const shape = JSON.parse(Buffer.from(bytes).toString('utf8')) as SnapshotShape;
    if (shape.format !== 'cairn-registry/1') throw new Error(`registry: unknown snapshot format ${shape.format}`);
    state.revision = shape.revision;
    state.restoreHeader(shape);
    for (const { info, instances } of shape.services) {
      const rec = state.restoreService(info);
      for (const inst of instances) {
        state.restoreInstance(rec, {
          ...inst,
          sessionId: inst.lease === null ? null : inst.lease.kind === 'session' ? inst.lease.sessionId : '',
        });
      }
    }
    state.markRestored();
    return state;
  }

  /** What happened before the snapshot is unknown: every service counts as changed at its revision. */
  private markRestored(): void {
    for (const rec of this.services.values()) rec.instancesRevision = this.revision;
  }

  private restoreHeader(h: SnapshotHeader): void {
    for (const ns of h.namespaces) this.namespaces.set(ns.id, ns);
    for (const s of h.sessions) this.sessions.set(s.id, { id: s.id, ttlMs: s.ttlMs, openedAt: s.openedAt });
    for (const [zone, weight] of h.zoneWeights) this.zoneWeights.set(zone, weight);
  }

  private restoreService(info: ServiceInfo): ServiceRecord {
    const rec: ServiceRecord = { info, instances: new Map(), instancesRevision: 0 };
    this.services.add(info, rec);
    this.count(info.namespace, 'services', 1);
    return rec;
  }

  private restoreInstance(rec: ServiceRecord, f: InstanceFields): void {
    const { namespace, group, service } = rec.info;
    const id = storedIdOf({ namespace, group, service, cluster: f.cluster, ip: f.ip, port: f.port });
    this.putInstance(rec, this.build(rec, id, f), rec.instances.get(id), f.revision, []);
  }
}

/** Drives a stepwise job to its end at once. */
function runToEnd<T>(steps: Generator<void, T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
  }
}

/** Drives a stepwise job, yielding to the event loop whenever a slice has run `sliceMs`. */
async function runInSlices<T>(steps: Generator<void, T>, sliceMs: number): Promise<T> {
  let sliceStart = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done) return r.value;
    if (performance.now() - sliceStart >= sliceMs) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      sliceStart = performance.now();
    }
  }
}

/** The same instance with some fields changed, keeping the one object shape every instance has. */
function withChanges(i: Instance, c: Partial<Instance>): Instance {
  return {
    namespace: i.namespace,
    group: i.group,
    service: i.service,
    cluster: i.cluster,
    ip: i.ip,
    port: i.port,
    weight: c.weight ?? i.weight,
    healthy: c.healthy ?? i.healthy,
    enabled: c.enabled ?? i.enabled,
    ephemeral: i.ephemeral,
    zone: i.zone,
    metadata: c.metadata ?? i.metadata,
    heartbeat: i.heartbeat,
    lease: i.lease,
    check: i.check,
    id: i.id,
    registeredAt: i.registeredAt,
    updatedAt: c.updatedAt ?? i.updatedAt,
    revision: c.revision ?? i.revision,
  };
}

/**
 * `instanceIdOf` as one flat string, for the ids the registry keeps: a concatenation is a tree of
 * its parts (about twice the bytes of the text) until something flattens it, while `join` writes
 * its result flat at once.
 */
function storedIdOf(k: InstanceKey): string {
  return [k.ip, '#', k.port, '#', k.cluster, '#', k.group, '@@', k.service].join('');
}

function describe(k: InstanceKey): string {
  return `${k.ip}:${k.port} in ${k.namespace}/${k.group}/${k.service} (cluster ${k.cluster})`;
}

/**
 * Equal in everything but bookkeeping (timestamps and revision). Shared values are compared by
 * identity: both instances hold the interned ones.
 */
function sameInstance(a: Instance, b: Instance): boolean {
  return (
    a.weight === b.weight &&
    a.healthy === b.healthy &&
    a.enabled === b.enabled &&
    a.ephemeral === b.ephemeral &&
    a.zone === b.zone &&
    a.metadata === b.metadata &&
    a.heartbeat === b.heartbeat &&
    a.lease === b.lease &&
    a.check === b.check
  );
}
