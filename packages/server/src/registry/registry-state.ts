import type { ErrorCode } from '../errors.js';
import type { Command, RegisterSpec } from './commands.js';
import {
  DEFAULT_NAMESPACE,
  type Instance,
  type InstanceKey,
  instanceIdOf,
  type Namespace,
  type ServiceInfo,
  type ServiceKey,
  serviceKeyOf,
} from './model.js';

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
}

interface SnapshotShape {
  readonly format: 'cairn-registry/1';
  readonly revision: number;
  readonly namespaces: Namespace[];
  readonly services: { info: ServiceInfo; instances: Instance[] }[];
  readonly sessions: Session[];
  readonly zoneWeights: [string, number][];
}

const PUBLIC_NAMESPACE: Namespace = { id: DEFAULT_NAMESPACE, name: 'public', description: 'The default namespace' };

/**
 * The registry's replicated state. `apply` is deterministic: it reads no clock (timestamps come in the
 * command) and no randomness, so every replica that applies the same log holds the same state.
 * Commands that cannot take effect (a missing instance, say) change nothing and return a refusal.
 */
export class RegistryState {
  revision = 0;
  private readonly namespaces = new Map<string, Namespace>([[PUBLIC_NAMESPACE.id, PUBLIC_NAMESPACE]]);
  private readonly services = new Map<string, ServiceRecord>();
  private readonly sessions = new Map<string, Session>();
  /** Session id -> ids (service key + instance id) of the instances it keeps alive. */
  private readonly sessionInstances = new Map<string, Set<string>>();
  private readonly zoneWeights = new Map<string, number>();
  private instanceCount = 0;

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
          const cur = this.instance(key);
          if (!cur || cur.healthy === healthy) continue;
          this.putInstance({ ...cur, healthy, updatedAt: cmd.ts, revision: rev }, rev, changes);
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
        const rec = this.services.get(serviceKeyOf(cmd.key));
        if (!rec) return { ok: false, code: 'NOT_FOUND', message: `no service ${serviceKeyOf(cmd.key)}` };
        if (rec.instances.size > 0) {
          return {
            ok: false,
            code: 'CONFLICT',
            message: `service ${serviceKeyOf(cmd.key)} still has ${rec.instances.size} instances; deregister them first`,
          };
        }
        this.services.delete(serviceKeyOf(cmd.key));
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
        const used = [...this.services.values()].filter((s) => s.info.namespace === cmd.id).length;
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
    const id = instanceIdOf(spec);
    const prev = rec.instances.get(id);
    const next: Instance = {
      ...spec,
      id,
      registeredAt: prev?.registeredAt ?? ts,
      updatedAt: ts,
      revision: rev,
    };
    if (prev && sameInstance(prev, next)) return { ok: true, instance: prev, changed: 0 };
    if (prev?.lease?.kind === 'session') this.sessionInstances.get(prev.lease.sessionId)?.delete(refOf(rec, id));
    this.putInstance(next, rev, changes);
    return { ok: true, instance: next, changed: 1 };
  }

  private update(cmd: Extract<Command, { op: 'update' }>, rev: number, changes: Change[]): ApplyResult {
    const cur = this.instance(cmd.key);
    if (!cur) return { ok: false, code: 'NOT_FOUND', message: `no instance ${describe(cmd.key)}` };
    const next: Instance = {
      ...cur,
      weight: cmd.patch.weight ?? cur.weight,
      enabled: cmd.patch.enabled ?? cur.enabled,
      metadata: cmd.patch.metadata ?? cur.metadata,
      updatedAt: cmd.ts,
      revision: rev,
    };
    if (sameInstance(cur, next)) return { ok: true, instance: cur, changed: 0 };
    this.putInstance(next, rev, changes);
    return { ok: true, instance: next, changed: 1 };
  }

  private putService(cmd: Extract<Command, { op: 'service.put' }>, rev: number, changes: Change[]): ApplyResult {
    const { service } = cmd;
    if (!this.namespaces.has(service.namespace)) {
      return { ok: false, code: 'NOT_FOUND', message: `no namespace ${service.namespace}; create it first` };
    }
    const key = serviceKeyOf(service);
    const rec = this.services.get(key);
    const info: ServiceInfo = {
      namespace: service.namespace,
      group: service.group,
      service: service.service,
      protectThreshold: service.protectThreshold,
      metadata: service.metadata,
      createdAt: rec?.info.createdAt ?? cmd.ts,
      revision: rev,
    };
    if (rec) rec.info = info;
    else this.services.set(key, { info, instances: new Map() });
    changes.push({ kind: 'service', action: 'put', service: info, revision: rev });
    return { ok: true, changed: 1 };
  }

  /** The service an instance registers into, created on first use with default settings. */
  private serviceFor(k: ServiceKey, ts: number, rev: number, changes: Change[]): ServiceRecord {
    const key = serviceKeyOf(k);
    let rec = this.services.get(key);
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
      rec = { info, instances: new Map() };
      this.services.set(key, rec);
      changes.push({ kind: 'service', action: 'put', service: info, revision: rev });
    }
    return rec;
  }

  private putInstance(inst: Instance, rev: number, changes: Change[]): void {
    const rec = this.services.get(serviceKeyOf(inst));
    if (!rec) throw new Error(`registry: instance ${inst.id} without its service`);
    if (!rec.instances.has(inst.id)) this.instanceCount++;
    rec.instances.set(inst.id, inst);
    if (inst.lease?.kind === 'session') {
      let set = this.sessionInstances.get(inst.lease.sessionId);
      if (!set) {
        set = new Set();
        this.sessionInstances.set(inst.lease.sessionId, set);
      }
      set.add(refOf(rec, inst.id));
    }
    changes.push({ kind: 'instance', action: 'put', instance: inst, revision: rev });
  }

  private removeInstance(key: InstanceKey, rev: number, changes: Change[]): boolean {
    const rec = this.services.get(serviceKeyOf(key));
    const id = instanceIdOf(key);
    const inst = rec?.instances.get(id);
    if (!rec || !inst) return false;
    rec.instances.delete(id);
    this.instanceCount--;
    if (inst.lease?.kind === 'session') this.sessionInstances.get(inst.lease.sessionId)?.delete(refOf(rec, id));
    changes.push({ kind: 'instance', action: 'delete', instance: { ...inst, revision: rev }, revision: rev });
    return true;
  }

  private closeSession(id: string, rev: number, changes: Change[]): number {
    const refs = this.sessionInstances.get(id);
    this.sessions.delete(id);
    this.sessionInstances.delete(id);
    let removed = 0;
    for (const ref of refs ?? []) {
      const sep = ref.indexOf('|');
      const inst = this.services.get(ref.slice(0, sep))?.instances.get(ref.slice(sep + 1));
      if (inst && this.removeInstance(inst, rev, changes)) removed++;
    }
    return removed;
  }

  // -------------------------------------------------------------------------------------------
  // Reads
  // -------------------------------------------------------------------------------------------

  instance(key: InstanceKey): Instance | undefined {
    return this.services.get(serviceKeyOf(key))?.instances.get(instanceIdOf(key));
  }

  service(key: ServiceKey): ServiceInfo | undefined {
    return this.services.get(serviceKeyOf(key))?.info;
  }

  instancesOf(key: ServiceKey): Instance[] {
    return [...(this.services.get(serviceKeyOf(key))?.instances.values() ?? [])];
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

  instanceCountOf(key: ServiceKey): number {
    return this.services.get(serviceKeyOf(key))?.instances.size ?? 0;
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

  // -------------------------------------------------------------------------------------------
  // Snapshots
  // -------------------------------------------------------------------------------------------

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

  static restore(bytes: Uint8Array): RegistryState {
    const state = new RegistryState();
    if (bytes.length === 0) return state;
    const shape = JSON.parse(Buffer.from(bytes).toString('utf8')) as SnapshotShape;
    if (shape.format !== 'cairn-registry/1') throw new Error(`registry: unknown snapshot format ${shape.format}`);
    state.revision = shape.revision;
    for (const ns of shape.namespaces) state.namespaces.set(ns.id, ns);
    for (const s of shape.sessions) state.sessions.set(s.id, s);
    for (const [zone, weight] of shape.zoneWeights) state.zoneWeights.set(zone, weight);
    const ignored: Change[] = [];
    for (const { info, instances } of shape.services) {
      state.services.set(serviceKeyOf(info), { info, instances: new Map() });
      for (const inst of instances) state.putInstance(inst, inst.revision, ignored);
    }
    return state;
  }
}

function refOf(rec: ServiceRecord, instanceId: string): string {
  return `${serviceKeyOf(rec.info)}|${instanceId}`;
}

function describe(k: InstanceKey): string {
  return `${k.ip}:${k.port} in ${k.namespace}/${k.group}/${k.service} (cluster ${k.cluster})`;
}

/** Equal in everything but bookkeeping (timestamps and revision). */
function sameInstance(a: Instance, b: Instance): boolean {
  return (
    a.weight === b.weight &&
    a.healthy === b.healthy &&
    a.enabled === b.enabled &&
    a.ephemeral === b.ephemeral &&
    a.zone === b.zone &&
    JSON.stringify(a.metadata) === JSON.stringify(b.metadata) &&
    JSON.stringify(a.heartbeat) === JSON.stringify(b.heartbeat) &&
    JSON.stringify(a.lease) === JSON.stringify(b.lease) &&
    JSON.stringify(a.check) === JSON.stringify(b.check)
  );
}
