import type { Clock, TimerHandle } from '../clock.js';
import { type Instance, type ServiceRef, serviceKeyOf } from '../instance.js';
import type { ZonePicker } from '../picking/zone-picker.js';
import type { CachedService, DiskCache, SourceName } from './disk-cache.js';
import { healthyCount, wouldEmpty } from './push-empty-guard.js';

/** What a watcher of a service is told. Every `change` carries the whole current view. */
export type ServiceEvent =
  | {
      readonly type: 'change';
      readonly instances: readonly Instance[];
      readonly revision: number;
      readonly added: readonly string[];
      readonly removed: readonly string[];
      readonly updated: readonly string[];
    }
  /** An update that would have left no healthy instance was held back (push-empty protection). */
  | { readonly type: 'held'; readonly source: SourceName; readonly healthyBefore: number; readonly revision: number }
  /** The held update was applied (a fresh read confirmed it) or dropped (healthy instances came back). */
  | { readonly type: 'released'; readonly source: SourceName; readonly applied: boolean }
  | { readonly type: 'stale'; readonly sinceMs: number }
  | { readonly type: 'fresh' };

export type ServiceListener = (event: ServiceEvent) => void;

export interface Staleness {
  /** Since when the view may differ from the registry (ms since the epoch). */
  readonly sinceMs: number;
  /** Which sources are not live: their registry is unreachable, or the view came from the disk cache. */
  readonly sources: readonly SourceName[];
  readonly fromCache: boolean;
}

export interface HeldUpdate {
  readonly source: SourceName;
  readonly sinceMs: number;
  readonly revision: number;
  readonly healthyBefore: number;
}

/** Reads a source's view afresh (linearizably); null when the read could not be made. */
export type Confirmer = (
  source: SourceName,
  ref: ServiceRef,
) => Promise<{ instances: Instance[]; revision: number } | null>;

export interface ServiceViewOptions {
  readonly ref: ServiceRef;
  readonly localZone: string;
  readonly picker: ZonePicker;
  readonly clock: Clock;
  readonly cache: DiskCache | null;
  readonly pushEmptyProtection: boolean;
  readonly confirm: Confirmer;
  /** The stream of a source looks wrong (a fresh read disagrees with it): resubscribe it. */
  readonly resync: (source: SourceName, ref: ServiceRef) => void;
  /** Retry delays for confirming a held update, doubling up to the max. */
  readonly confirmRetryMs?: number;
  readonly confirmRetryMsMax?: number;
}

class Source {
  /** Exactly what the stream (or the last read) says. */
  readonly stream = new Map<string, Instance>();
  /** What the view uses; null until the source has given (or the cache has loaded) a view. */
  applied: Map<string, Instance> | null = null;
  revision = 0;
  live = false;
  fromCache = false;
  staleSinceMs: number | null = null;
  held: HeldUpdate | null = null;
  confirmTimer: TimerHandle | null = null;
  confirmDelayMs = 0;
  confirming = false;
}

/**
 * One service's view: the local zone's instances from the zone registry, other zones' from the
 * federation, merged and handed to the picker. It applies pushes and reads, guards against pushes
 * that would empty it, tracks staleness, persists itself to the disk cache, and tells listeners.
 */
export class ServiceView {
  readonly ref: ServiceRef;
  readonly key: string;
  private readonly sources: Record<SourceName, Source> = { local: new Source(), federation: new Source() };
  private merged = new Map<string, Instance>();
  private readonly listeners = new Set<ServiceListener>();
  private freshAtMs = 0;
  private readyResolve!: () => void;
  /** Resolves once the view holds something: a fresh view from a registry, or the disk cache. */
  readonly ready: Promise<void>;
  private isReady = false;
  private closed = false;

  constructor(private readonly opts: ServiceViewOptions) {
    this.ref = opts.ref;
    this.key = serviceKeyOf(opts.ref);
    this.ready = new Promise((resolve) => {
      this.readyResolve = resolve;
    });
  }

  // -----------------------------------------------------------------------------------------------
  // Reading
  // -----------------------------------------------------------------------------------------------

  instances(): Instance[] {
    return [...this.merged.values()];
  }

  get revision(): number {
    return this.sources.local.revision;
  }

  revisionOf(source: SourceName): number {
    return this.sources[source].revision;
  }

  /** Whether a source has ever given this view anything (fresh or from cache). */
  has(source: SourceName): boolean {
    return this.sources[source].applied !== null;
  }

  get held(): HeldUpdate | null {
    return this.sources.local.held ?? this.sources.federation.held;
  }

  get staleness(): Staleness | null {
    const stale = (['local', 'federation'] as const).filter(
      (n) => this.sources[n].staleSinceMs !== null && this.sources[n].applied !== null,
    );
    if (stale.length === 0) return null;
    return {
      sinceMs: Math.min(...stale.map((n) => this.sources[n].staleSinceMs!)),
      sources: stale,
      fromCache: stale.some((n) => this.sources[n].fromCache),
    };
  }

  on(listener: ServiceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // -----------------------------------------------------------------------------------------------
  // Writing: what the transports call
  // -----------------------------------------------------------------------------------------------

  /** The source's whole view (a complete snapshot or a read) at `revision`; the source is live. */
  snapshot(source: SourceName, instances: readonly Instance[], revision: number): void {
    const s = this.sources[source];
    s.stream.clear();
    for (const inst of instances) s.stream.set(inst.id, inst);
    s.revision = revision;
    this.markLive(source);
    this.evaluate(source);
  }

  /** Ordered instance changes through `revision`. */
  changes(
    source: SourceName,
    list: readonly { action: 'put' | 'delete'; instance: Instance }[],
    revision: number,
  ): void {
    const s = this.sources[source];
    let touched = false;
    for (const c of list) {
      touched = true;
      if (c.action === 'put') s.stream.set(c.instance.id, c.instance);
      else s.stream.delete(c.instance.id);
    }
    s.revision = Math.max(s.revision, revision);
    if (touched) this.evaluate(source);
  }

  /** The source resumed where it left off: the view is current again. */
  resumed(source: SourceName, revision: number): void {
    this.sources[source].revision = Math.max(this.sources[source].revision, revision);
    this.markLive(source);
    this.persist();
  }

  /** The source is current through `revision` (nothing changed meanwhile). */
  progress(source: SourceName, revision: number): void {
    const s = this.sources[source];
    if (revision > s.revision) s.revision = revision;
  }

  /** Where a resubscription may resume: a revision this process got from the source itself. */
  resumeRevision(source: SourceName): number | undefined {
    const s = this.sources[source];
    return s.applied !== null && !s.fromCache && s.revision > 0 ? s.revision : undefined;
  }

  /** The source's connection is gone: the view is kept, marked stale since now. */
  lost(source: SourceName): void {
    const s = this.sources[source];
    if (!s.live) return;
    if (this.staleness === null) this.freshAtMs = this.opts.clock.now();
    s.live = false;
    s.staleSinceMs = this.opts.clock.now();
    if (s.applied === null) return;
    this.persist();
    this.emit({ type: 'stale', sinceMs: s.staleSinceMs });
  }

  /** Fills the view from the disk cache, stale since the cache was last fresh. */
  loadCache(cached: CachedService): boolean {
    let loaded = false;
    for (const name of ['local', 'federation'] as const) {
      const c = cached.sources[name];
      const s = this.sources[name];
      if (c === undefined || s.applied !== null) continue;
      for (const inst of c.instances) s.stream.set(inst.id, inst);
      s.applied = new Map(s.stream);
      s.revision = c.revision;
      s.fromCache = true;
      s.staleSinceMs = cached.freshAtMs;
      loaded = true;
    }
    if (!loaded) return false;
    this.freshAtMs = cached.freshAtMs;
    this.remerge();
    this.emit({ type: 'stale', sinceMs: cached.freshAtMs });
    this.markReady();
    return true;
  }

  /** Marks the view ready even if empty (the registry gave up waiting for a first view). */
  markReady(): void {
    if (this.isReady) return;
    this.isReady = true;
    this.readyResolve();
  }

  /** Stops timers and writes the view one last time (fresh until now, when it is). */
  close(): void {
    this.persist();
    this.closed = true;
    for (const s of Object.values(this.sources)) {
      s.confirmTimer?.cancel();
      s.confirmTimer = null;
    }
    this.listeners.clear();
  }

  // -----------------------------------------------------------------------------------------------

  private markLive(source: SourceName): void {
    const s = this.sources[source];
    const wasStale = s.staleSinceMs !== null && s.applied !== null;
    s.live = true;
    s.fromCache = false;
    s.staleSinceMs = null;
    if (wasStale && this.staleness === null) this.emit({ type: 'fresh' });
  }

  private evaluate(source: SourceName): void {
    const s = this.sources[source];
    const current = s.applied ?? new Map<string, Instance>();
    if (this.opts.pushEmptyProtection && wouldEmpty(current.values(), s.stream.values())) {
      if (s.held === null) {
        s.held = {
          source,
          sinceMs: this.opts.clock.now(),
          revision: s.revision,
          healthyBefore: healthyCount(current.values()),
        };
        s.confirmDelayMs = this.opts.confirmRetryMs ?? 500;
        this.emit({ type: 'held', source, healthyBefore: s.held.healthyBefore, revision: s.revision });
        void this.confirm(source);
      }
      return;
    }
    if (s.held !== null) this.release(source, true);
    this.apply(source);
  }

  private apply(source: SourceName): void {
    const s = this.sources[source];
    s.applied = new Map(s.stream);
    this.remerge();
    this.persist();
    this.markReady();
  }

  private release(source: SourceName, applied: boolean): void {
    const s = this.sources[source];
    s.held = null;
    s.confirmTimer?.cancel();
    s.confirmTimer = null;
    this.emit({ type: 'released', source, applied });
  }

  /** Asks for a fresh read of a held source: it decides whether the empty view is real. */
  private async confirm(source: SourceName): Promise<void> {
    const s = this.sources[source];
    if (s.confirming || s.held === null || this.closed) return;
    s.confirming = true;
    let read: Awaited<ReturnType<Confirmer>> = null;
    try {
      read = await this.opts.confirm(source, this.ref);
    } catch {
      read = null;
    } finally {
      s.confirming = false;
    }
    if (s.held === null || this.closed) return;
    if (read !== null && healthyCount(read.instances) === 0) {
      // The registry agrees: the service really has no healthy instance.
      s.stream.clear();
      for (const inst of read.instances) s.stream.set(inst.id, inst);
      s.revision = Math.max(s.revision, read.revision);
      this.release(source, true);
      this.apply(source);
      return;
    }
    // The read disagrees with the stream (or could not be made): keep holding, resync, ask again.
    if (read !== null) this.opts.resync(source, this.ref);
    const delayMs = s.confirmDelayMs;
    s.confirmDelayMs = Math.min(delayMs * 2, this.opts.confirmRetryMsMax ?? 10_000);
    s.confirmTimer = this.opts.clock.setTimer(() => {
      s.confirmTimer = null;
      void this.confirm(source);
    }, delayMs);
  }

  private remerge(): void {
    const next = new Map<string, Instance>();
    const local = this.sources.local.applied;
    const fed = this.sources.federation.applied;
    const zone = this.opts.localZone;
    if (local !== null) for (const [id, inst] of local) next.set(id, inst);
    if (fed !== null) {
      for (const [id, inst] of fed) {
        // The zone registry is the authority on its own zone once it has said anything.
        if (inst.zone === zone && local !== null) continue;
        if (!next.has(id)) next.set(id, inst);
      }
    }
    const added: string[] = [];
    const removed: string[] = [];
    const updated: string[] = [];
    for (const [id, inst] of next) {
      const prev = this.merged.get(id);
      if (prev === undefined) added.push(id);
      else if (prev !== inst) updated.push(id);
    }
    for (const id of this.merged.keys()) if (!next.has(id)) removed.push(id);
    this.merged = next;
    this.opts.picker.update([...next.values()]);
    if (added.length + removed.length + updated.length === 0) return;
    this.emit({
      type: 'change',
      instances: [...next.values()],
      revision: this.sources.local.revision,
      added,
      removed,
      updated,
    });
  }

  private persist(): void {
    const cache = this.opts.cache;
    if (cache === null || this.closed) return;
    const sources: CachedService['sources'] = {};
    for (const name of ['local', 'federation'] as const) {
      const s = this.sources[name];
      if (s.applied !== null) sources[name] = { revision: s.revision, instances: [...s.applied.values()] };
    }
    const nowMs = this.opts.clock.now();
    if (Object.keys(sources).length === 0) return;
    if (this.staleness === null) this.freshAtMs = nowMs;
    cache.save({
      format: 1,
      namespace: this.ref.namespace,
      group: this.ref.group,
      service: this.ref.service,
      savedAtMs: nowMs,
      freshAtMs: this.freshAtMs,
      sources,
    });
  }

  private emit(event: ServiceEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure is its own; the view carries on.
      }
    }
  }
}
