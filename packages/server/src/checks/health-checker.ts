import type { Logger } from 'pino';
import { request } from 'undici';
import { z } from 'zod';
import type { Check, Instance, InstanceKey } from '../registry/model.js';
import type { Change, RegistryState } from '../registry/registry-state.js';
import { CLUSTER_AUTH_HEADER, type ZoneRegistry } from '../registry/zone-registry.js';
import { PLAINTEXT_DIALER, type ReplicaDialer } from '../tls/replica-dialer.js';
import { CheckStreak } from './check-streak.js';
import { DueQueue } from './due-queue.js';
import { probe } from './health-probe.js';
import { type EffectiveView, type LeaderView, LiveReplicas } from './live-replicas.js';
import { rendezvousOwner } from './rendezvous.js';

/** Where the leader serves its live-replica view to the followers (cluster secret required). */
export const CHECK_VIEW_PATH = '/internal/v1/checks/view';

export const leaderViewSchema = z.object({
  leader: z.string().min(1).max(64),
  term: z.number().int().min(0),
  live: z.array(z.string().min(1).max(64)).max(1000),
});

export interface HealthCheckerOptions {
  readonly registry: ZoneRegistry;
  readonly logger: Logger;
  readonly clusterSecret: string;
  /** How to reach the leader for its view (https under TLS); default plaintext. */
  readonly dialer?: ReplicaDialer;
  /** The zone's election timeout; a follower the leader has not heard from for twice this is not live. */
  readonly electionTimeoutMs: number;
  /** Probes in flight at once on this replica; each holds at most one socket. */
  readonly concurrencyMax?: number;
  /** How often due probes start and the transitions found are committed (one batch per round). */
  readonly roundMs?: number;
  /** How often the live replicas, and so the assignment, are re-examined. */
  readonly assignEveryMs?: number;
  /** How often a follower asks the leader for its view. */
  readonly viewFetchEveryMs?: number;
  /** Transitions committed in one `health` command at most. */
  readonly transitionsBatchMax?: number;
  /** New targets start within this long (spread at random), then every `intervalMs`. */
  readonly firstProbeSpreadMs?: number;
}

/** Checks run and failed, by check type. */
export interface CheckCounters {
  run: number;
  failed: number;
}

export interface HealthCheckStats {
  /** Instances this replica checks now. */
  readonly targets: number;
  readonly inFlight: number;
  readonly pendingTransitions: number;
  readonly liveReplicas: readonly string[];
  readonly viewSource: EffectiveView['source'];
}

interface Target {
  readonly id: string;
  readonly key: InstanceKey;
  check: Check;
  readonly streak: CheckStreak;
  /** Bumped whenever the target is rescheduled or dropped: queued entries and results of older ones are void. */
  gen: number;
  abort: AbortController | null;
}

interface QueueEntry {
  readonly target: Target;
  readonly gen: number;
}

interface Transition {
  readonly key: InstanceKey;
  readonly healthy: boolean;
}

/**
 * True when active checks decide the instance's health. An ephemeral instance with its own heartbeat
 * lease is left to the leader's lease table: two sources flipping one `healthy` flag would flap.
 */
export function checkDrivesHealth(inst: Instance): inst is Instance & { check: Check } {
  return inst.check !== null && !(inst.ephemeral && inst.lease?.kind === 'instance');
}

/**
 * Runs the active health checks (TCP connect, HTTP GET) this replica is assigned, and commits the
 * resulting health transitions through Raft.
 *
 * Assignment: an instance is checked by the rendezvous-hash owner of its id among the live voters
 * (see LiveReplicas for whose view counts). Every replica computes it alone; when a replica dies, the
 * others stop counting it within one live window and each takes over the instances it now wins.
 *
 * Results: rise/fall runs per instance (CheckStreak), measured against the health the registry holds,
 * so a replica that takes an instance over starts from the committed state and never flaps it. The
 * transitions found in a round go to the leader as one `health` command (registry.execute forwards
 * from a follower); a failed commit is retried next round while it is still due.
 *
 * Bounds: at most `concurrencyMax` probes (and sockets) at once; every probe ends by its timeout; the
 * due queue holds one live entry per target and is rebuilt when stale entries pile up.
 */
export class HealthChecker {
  private readonly registry: ZoneRegistry;
  private readonly log: Logger;
  private readonly secret: string;
  private readonly dialer: ReplicaDialer;
  private readonly opts: Required<Omit<HealthCheckerOptions, 'registry' | 'logger' | 'clusterSecret' | 'dialer'>>;
  private readonly live: LiveReplicas;
  private readonly targets = new Map<string, Target>();
  private readonly queue = new DueQueue<QueueEntry>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly pending = new Map<string, Transition>();
  private view: EffectiveView = { live: [], source: 'local' };
  private assignedFor = '';
  private stateSeen: RegistryState | null = null;
  private roundTimer: NodeJS.Timeout | null = null;
  private assignTimer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private flushing = false;
  private fetchAbort: AbortController | null = null;
  private lastFetchMs = Number.NEGATIVE_INFINITY;
  private started = false;
  private closed = false;
  /** Counters for /metrics; only ever incremented. */
  readonly counters = {
    tcp: { run: 0, failed: 0 } as CheckCounters,
    http: { run: 0, failed: 0 } as CheckCounters,
    transitionsProposed: 0,
    transitionsCommitted: 0,
    commitFailures: 0,
    viewFetches: 0,
    viewFetchFailures: 0,
  };

  constructor(options: HealthCheckerOptions) {
    this.registry = options.registry;
    this.log = options.logger;
    this.opts = {
      electionTimeoutMs: options.electionTimeoutMs,
      concurrencyMax: options.concurrencyMax ?? 64,
      roundMs: options.roundMs ?? 100,
      assignEveryMs: options.assignEveryMs ?? 250,
      viewFetchEveryMs: options.viewFetchEveryMs ?? 500,
      transitionsBatchMax: options.transitionsBatchMax ?? 1000,
      firstProbeSpreadMs: options.firstProbeSpreadMs ?? 1000,
    };
    this.secret = options.clusterSecret;
    this.dialer = options.dialer ?? PLAINTEXT_DIALER;
    if (!(this.opts.concurrencyMax >= 1)) throw new RangeError('health checker: concurrencyMax must be >= 1');
    const liveWindowMs = 2 * this.opts.electionTimeoutMs;
    this.live = new LiveReplicas({
      liveWindowMs,
      viewStaleMs: Math.max(3 * this.opts.viewFetchEveryMs, liveWindowMs),
    });
  }

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.unsubscribe = this.registry.onChange((_rev, changes) => this.onChanges(changes));
    this.roundTimer = setInterval(() => this.round(), this.opts.roundMs);
    this.roundTimer.unref();
    this.assignTimer = setInterval(() => this.refreshAssignment(), this.opts.assignEveryMs);
    this.assignTimer.unref();
    this.refreshAssignment();
  }

  /** Stops every timer, aborts the probes in flight and waits for them (each ends at once when aborted). */
  async stop(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.roundTimer) clearInterval(this.roundTimer);
    if (this.assignTimer) clearInterval(this.assignTimer);
    this.unsubscribe?.();
    this.fetchAbort?.abort();
    for (const t of this.targets.values()) t.abort?.abort();
    await Promise.allSettled([...this.inFlight]);
    this.targets.clear();
    this.queue.clear();
    this.pending.clear();
  }

  get stats(): HealthCheckStats {
    return {
      targets: this.targets.size,
      inFlight: this.inFlight.size,
      pendingTransitions: this.pending.size,
      liveReplicas: this.view.live,
      viewSource: this.view.source,
    };
  }

  /** Ids of the instances this replica checks, sorted (for operators and tests). */
  assignedIds(): string[] {
    return [...this.targets.keys()].sort();
  }

  /** The leader's live-replica view for followers; null when this replica does not lead. */
  viewForPeers(): LeaderView | null {
    const s = this.registry.raft.status();
    const now = performance.now();
    this.live.observe(s, now);
    return this.live.leaderView(s, now);
  }

  // -------------------------------------------------------------------------------------------
  // Assignment
  // -------------------------------------------------------------------------------------------

  private refreshAssignment(): void {
    if (this.closed) return;
    const s = this.registry.raft.status();
    const now = performance.now();
    this.live.observe(s, now);
    if (s.role !== 'leader') void this.fetchView(s.leader, s.members[s.leader], now);
    const view = this.live.effective(s, now);
    const signature = `${view.live.join(',')}|${view.live.includes(s.id)}`;
    const state = this.registry.state;
    if (signature !== this.assignedFor || state !== this.stateSeen) {
      const before = this.targets.size;
      this.view = view;
      this.assignedFor = signature;
      this.stateSeen = state; // a restored snapshot replaces the state object without change events
      this.reconcileAll();
      this.log.info(
        { live: view.live, source: view.source, targets: this.targets.size, before },
        'health check assignment changed',
      );
    } else {
      this.view = view;
    }
  }

  private mine(inst: Instance): inst is Instance & { check: Check } {
    const self = this.registry.raft.id;
    return checkDrivesHealth(inst) && rendezvousOwner(inst.id, this.view.live) === self;
  }

  private reconcileAll(): void {
    const keep = new Set<string>();
    if (this.view.live.includes(this.registry.raft.id)) {
      for (const inst of this.registry.state.allInstances()) {
        if (!this.mine(inst)) continue;
        keep.add(inst.id);
        this.upsert(inst);
      }
    }
    for (const id of [...this.targets.keys()]) if (!keep.has(id)) this.drop(id);
  }

  private onChanges(changes: readonly Change[]): void {
    if (this.closed) return;
    for (const c of changes) {
      if (c.kind !== 'instance') continue;
      if (c.action === 'put' && c.instance.check !== null && this.mine(c.instance)) this.upsert(c.instance);
      else if (this.targets.has(c.instance.id)) this.drop(c.instance.id);
    }
  }

  private upsert(inst: Instance & { check: Check }): void {
    const cur = this.targets.get(inst.id);
    if (cur && sameCheck(cur.check, inst.check)) return;
    const spreadMs = Math.random() * Math.min(inst.check.intervalMs, this.opts.firstProbeSpreadMs);
    if (cur) {
      // The check changed: start over with the new settings.
      cur.abort?.abort();
      cur.check = inst.check;
      cur.streak.reset();
      this.schedule(cur, performance.now() + spreadMs);
      return;
    }
    const t: Target = {
      id: inst.id,
      key: keyOf(inst),
      check: inst.check,
      streak: new CheckStreak(),
      gen: 0,
      abort: null,
    };
    this.targets.set(t.id, t);
    this.schedule(t, performance.now() + spreadMs);
  }

  private drop(id: string): void {
    const t = this.targets.get(id);
    if (!t) return;
    this.targets.delete(id);
    t.gen++;
    t.abort?.abort();
    this.pending.delete(id);
  }

  private schedule(t: Target, dueAt: number): void {
    t.gen++;
    this.queue.push(dueAt, { target: t, gen: t.gen });
    if (this.queue.size > 2 * this.targets.size + 1024) this.compactQueue();
  }

  /** Drops stale entries: rebuilds the queue from the targets' current due entries. */
  private compactQueue(): void {
    const live: { dueAt: number; entry: QueueEntry }[] = [];
    while (this.queue.size > 0) {
      const dueAt = this.queue.peekDueAt();
      const e = this.queue.pop()!;
      if (e.gen === e.target.gen && this.targets.get(e.target.id) === e.target) live.push({ dueAt, entry: e });
    }
    for (const { dueAt, entry } of live) this.queue.push(dueAt, entry);
  }

  // -------------------------------------------------------------------------------------------
  // Probing
  // -------------------------------------------------------------------------------------------

  private round(): void {
    if (this.closed) return;
    this.startDueProbes();
    void this.flush();
  }

  private startDueProbes(): void {
    const now = performance.now();
    while (this.inFlight.size < this.opts.concurrencyMax && this.queue.peekDueAt() <= now) {
      const e = this.queue.pop()!;
      if (e.gen !== e.target.gen || this.targets.get(e.target.id) !== e.target) continue;
      this.run(e.target, now);
    }
  }

  private run(t: Target, startedAt: number): void {
    const gen = t.gen;
    const ac = new AbortController();
    t.abort = ac;
    const [ip, port] = [t.key.ip, t.key.port];
    const p = probe({ ip, port }, t.check, ac.signal).then((outcome) => {
      if (t.abort === ac) t.abort = null;
      if (this.closed || t.gen !== gen || this.targets.get(t.id) !== t) return;
      try {
        const counters = this.counters[t.check.type];
        counters.run++;
        if (!outcome.ok) {
          counters.failed++;
          this.log.debug({ instance: t.id, reason: outcome.reason, detail: outcome.detail }, 'health check failed');
        }
        this.record(t, outcome.ok);
      } catch (err) {
        this.log.error({ err, instance: t.id }, 'recording a health check result failed');
      }
      this.schedule(t, Math.max(startedAt + t.check.intervalMs, performance.now()));
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private record(t: Target, ok: boolean): void {
    t.streak.record(ok);
    const inst = this.registry.state.instance(t.key);
    if (!inst) return;
    const healthy = t.streak.verdict(inst.healthy, t.check.rise, t.check.fall);
    if (healthy === null) this.pending.delete(t.id);
    else this.pending.set(t.id, { key: t.key, healthy });
  }

  // -------------------------------------------------------------------------------------------
  // Funnelling results to the leader
  // -------------------------------------------------------------------------------------------

  /** Commits the transitions found since the last round as one `health` command. */
  private async flush(): Promise<void> {
    if (this.flushing || this.pending.size === 0 || this.closed) return;
    const batch: [string, Transition][] = [];
    for (const [id, tr] of this.pending) {
      const inst = this.registry.state.instance(tr.key);
      if (!inst || inst.healthy === tr.healthy || !this.targets.has(id)) {
        this.pending.delete(id);
        continue;
      }
      batch.push([id, tr]);
      if (batch.length >= this.opts.transitionsBatchMax) break;
    }
    if (batch.length === 0) return;
    this.flushing = true;
    this.counters.transitionsProposed += batch.length;
    try {
      await this.registry.execute({ op: 'health', changes: batch.map(([, tr]) => tr) });
      this.counters.transitionsCommitted += batch.length;
      for (const [id, tr] of batch) if (this.pending.get(id) === tr) this.pending.delete(id);
      const down = batch.filter(([, tr]) => !tr.healthy).map(([id]) => id);
      const up = batch.filter(([, tr]) => tr.healthy).map(([id]) => id);
      // Bounded log line: counts, and the first few ids of each kind.
      this.log.info(
        { unhealthy: down.length, healthy: up.length, down: down.slice(0, 10), up: up.slice(0, 10) },
        'health check transitions committed',
      );
    } catch (err) {
      this.counters.commitFailures++;
      if (!this.closed)
        this.log.warn({ err, transitions: batch.length }, 'committing health transitions failed; retrying');
    } finally {
      this.flushing = false;
    }
  }

  /** A follower asks the leader which replicas it counts live (at most one request at a time). */
  private async fetchView(leader: string, address: string | undefined, nowMs: number): Promise<void> {
    if (!leader || !address || this.fetchAbort || nowMs - this.lastFetchMs < this.opts.viewFetchEveryMs) return;
    this.lastFetchMs = nowMs;
    const ac = new AbortController();
    this.fetchAbort = ac;
    try {
      const dispatcher = this.dialer.dispatcher();
      const res = await request(this.dialer.url(address, CHECK_VIEW_PATH), {
        ...(dispatcher ? { dispatcher } : {}),
        method: 'GET',
        headers: { [CLUSTER_AUTH_HEADER]: this.secret },
        headersTimeout: 1000,
        bodyTimeout: 1000,
        signal: AbortSignal.any([ac.signal, AbortSignal.timeout(2000)]),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`status ${res.statusCode}`);
      }
      const view = leaderViewSchema.parse(await res.body.json());
      if (view.leader !== leader) throw new Error(`answered by ${view.leader}, not ${leader}`);
      this.live.acceptFetched(view, performance.now());
      this.counters.viewFetches++;
    } catch (err) {
      this.counters.viewFetchFailures++;
      if (!this.closed) this.log.debug({ err, leader }, 'fetching the leader view of live replicas failed');
    } finally {
      if (this.fetchAbort === ac) this.fetchAbort = null;
    }
  }
}

function keyOf(k: InstanceKey): InstanceKey {
  return { namespace: k.namespace, group: k.group, service: k.service, cluster: k.cluster, ip: k.ip, port: k.port };
}

function sameCheck(a: Check, b: Check): boolean {
  const ka = Object.keys(a) as (keyof Check)[];
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k as keyof typeof b]);
}
