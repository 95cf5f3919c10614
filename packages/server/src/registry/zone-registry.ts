import { createRaftNode, RaftError, type RaftNode, type RaftNodeOptions } from '@cairn/raft';
import type { Logger } from 'pino';
import { request } from 'undici';
import { CairnError } from '../errors.js';
import { PLAINTEXT_DIALER, type ReplicaDialer } from '../tls/replica-dialer.js';
import { type Command, decodeCommand, encodeCommand } from './commands.js';
import { LeaseTable } from './lease-table.js';
import { type Instance, instanceKeyOf, leaseIdOf } from './model.js';
import { type ApplyResult, type Change, RegistryState } from './registry-state.js';
import { RenewalBuffer, renewalBatches } from './renewal-buffer.js';
import { WatchHub } from './watch-hub.js';

/** A command as a caller builds it; the registry stamps the time. */
export type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, 'ts'> : never) : never;

export interface ZoneRegistryOptions {
  readonly zone: string;
  readonly nodeId: string;
  /** Peers' "host:port" (the replicas' listen addresses); {} for a single-node registry. */
  readonly peers: Readonly<Record<string, string>>;
  readonly advertiseAddress: string;
  readonly dataDir: string;
  readonly clusterSecret: string;
  readonly logger: Logger;
  readonly tickMs?: number;
  readonly electionTicks?: number;
  readonly snapshotEntries?: number;
  /** How often the leader looks for lapsed leases. */
  readonly leaseScanMs?: number;
  /** How long a follower gathers renewals before forwarding them to the leader. */
  readonly renewalForwardMs?: number;
  readonly proposalTimeoutMs?: number;
  readonly watchHistoryMax?: number;
  readonly watchQueueMax?: number;
  /** Path on the leader that accepts forwarded renewals. */
  readonly renewalPath?: string;
  readonly join?: boolean;
  /** How to reach the other replicas (peer links, forwarded renewals); default plaintext. */
  readonly dialer?: ReplicaDialer;
}

export const RENEWAL_PATH = '/internal/v1/renewals';
/** Renewals a follower holds while it cannot forward them (no leader known), before it drops the oldest. */
const RENEWALS_PENDING_MAX = 2_000_000;
/** JSON bytes per forwarded batch: well inside the leader's default 1 MiB body limit. */
const RENEWAL_BATCH_BYTES_MAX = 512 * 1024;
export const CLUSTER_AUTH_HEADER = 'x-cairn-cluster-secret';

/** A batch of renewals a follower forwards to the leader. */
export interface RenewalBatch {
  readonly instances: readonly string[];
  readonly sessions: readonly string[];
}

/**
 * One replica of a zone's registry: the Raft node, the replicated registry state, the watch hub that
 * streams its changes, and, while this replica leads, the lease table that turns missed renewals into
 * committed transitions.
 */
export class ZoneRegistry {
  readonly zone: string;
  private current: RegistryState;
  readonly hub: WatchHub;
  readonly leases = new LeaseTable();
  private raftNode!: RaftNode;
  private readonly log: Logger;
  private readonly opts: ZoneRegistryOptions;
  private leaseTimer: NodeJS.Timeout | null = null;
  private forwardTimer: NodeJS.Timeout | null = null;
  private readonly pendingInstanceRenewals = new RenewalBuffer(RENEWALS_PENDING_MAX);
  private readonly pendingSessionRenewals = new RenewalBuffer(RENEWALS_PENDING_MAX);
  private leading = false;
  private scanning = false;
  private readonly changeListeners = new Set<(revision: number, changes: readonly Change[]) => void>();
  private closed = false;
  /** Counters for /metrics. */
  readonly counters = { renewals: 0, renewalsForwarded: 0, proposals: 0, proposalFailures: 0, transitions: 0 };

  private constructor(opts: ZoneRegistryOptions) {
    this.opts = opts;
    this.zone = opts.zone;
    this.log = opts.logger;
    this.current = new RegistryState();
    this.hub = new WatchHub({ historyMax: opts.watchHistoryMax ?? 50_000, queueMax: opts.watchQueueMax ?? 10_000 });
  }

  static async start(opts: ZoneRegistryOptions): Promise<ZoneRegistry> {
    const reg = new ZoneRegistry(opts);
    const single = Object.keys(opts.peers).length === 0;
    const raftOpts: RaftNodeOptions = {
      id: opts.nodeId,
      peers: single ? { [opts.nodeId]: opts.advertiseAddress } : opts.peers,
      advertiseAddress: opts.advertiseAddress,
      join: opts.join ?? false,
      dataDir: opts.dataDir,
      clusterSecret: opts.clusterSecret,
      ...(opts.dialer?.peerTls ? { peerTls: opts.dialer.peerTls } : {}),
      logger: opts.logger,
      tickMs: opts.tickMs ?? 100,
      electionTicks: opts.electionTicks ?? 10,
      snapshotEntries: opts.snapshotEntries ?? 20_000,
      stateMachine: {
        apply: (entry) => reg.applyEntry(entry.index, entry.data),
        snapshot: () => reg.state.encodeSnapshot(),
        restore: (data, index) => reg.restore(data, index),
      },
    };
    reg.raftNode = await createRaftNode(raftOpts);
    reg.raftNode.on('role', (role) => reg.onRole(role === 'leader'));
    reg.raftNode.on('applied', (index) => reg.hub.publish(Math.max(index, reg.hub.revision), []));
    reg.onRole(reg.raftNode.isLeader);
    reg.leaseTimer = setInterval(() => void reg.leaderDuties(), opts.leaseScanMs ?? 200);
    reg.leaseTimer.unref();
    reg.forwardTimer = setInterval(() => void reg.forwardRenewals(), opts.renewalForwardMs ?? 100);
    reg.forwardTimer.unref();
    return reg;
  }

  /** The applied registry state of this replica (replaced whole when a snapshot is restored). */
  get state(): RegistryState {
    return this.current;
  }

  get raft(): RaftNode {
    return this.raftNode;
  }

  get isLeader(): boolean {
    return this.raftNode.isLeader;
  }

  /** The revision (Raft index) this replica has applied; every read answer carries it. */
  get revision(): number {
    return Math.max(this.state.revision, this.raftNode.appliedIndex);
  }

  onChange(listener: (revision: number, changes: readonly Change[]) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  // -------------------------------------------------------------------------------------------
  // Writes
  // -------------------------------------------------------------------------------------------

  /**
   * Commits a command through Raft (forwarded to the leader from a follower) and resolves, once it is
   * applied on this replica, with its revision and result. A refusal by the state machine becomes a
   * CairnError with the refusal's code.
   */
  async execute(input: CommandInput): Promise<{ revision: number; result: Extract<ApplyResult, { ok: true }> }> {
    const cmd = { ...input, ts: Date.now() } as Command;
    this.counters.proposals++;
    try {
      const out = await this.raftNode.propose(encodeCommand(cmd), { timeoutMs: this.opts.proposalTimeoutMs ?? 5000 });
      const result = out.result as ApplyResult;
      if (!result.ok) throw new CairnError(result.code, result.message);
      return { revision: out.index, result };
    } catch (err) {
      this.counters.proposalFailures++;
      throw toCairnError(err);
    }
  }

  /** Runs a membership operation of the Raft node, mapping its refusals to the registry's error codes. */
  async membership<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw toCairnError(err);
    }
  }

  /** A linearizable read barrier: afterwards, local state reflects every write acknowledged before. */
  async barrier(): Promise<number> {
    try {
      return await this.raftNode.readIndex({ timeoutMs: this.opts.proposalTimeoutMs ?? 5000 });
    } catch (err) {
      throw toCairnError(err);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Leases
  // -------------------------------------------------------------------------------------------

  /**
   * Renews instance leases (by lease id, `leaseIdOf`) and session leases. On the leader this only moves times
   * in memory; a follower gathers them and forwards a batch to the leader. Returns the ids this
   * replica does not know, so the caller can tell clients to re-register.
   */
  renew(instanceIds: readonly string[], sessionIds: readonly string[]): { unknownInstances: string[] } {
    this.counters.renewals += instanceIds.length + sessionIds.length;
    const unknownInstances: string[] = [];
    if (this.raftNode.isLeader) {
      const now = performance.now();
      for (const id of instanceIds) if (!this.leases.renewInstance(id, now)) unknownInstances.push(id);
      for (const id of sessionIds) this.leases.renewSession(id, now);
    } else {
      this.pendingInstanceRenewals.add(instanceIds);
      this.pendingSessionRenewals.add(sessionIds);
    }
    return { unknownInstances };
  }

  /** The leader's side of forwarding: a follower's batch of renewals. */
  acceptForwardedRenewals(batch: RenewalBatch): void {
    this.renew(batch.instances, batch.sessions);
  }

  private async forwardRenewals(): Promise<void> {
    if (this.pendingInstanceRenewals.size === 0 && this.pendingSessionRenewals.size === 0) return;
    const leader = this.raftNode.leaderId;
    const address = leader ? this.raftNode.status().members[leader] : undefined;
    if (this.raftNode.isLeader) {
      this.renew(this.pendingInstanceRenewals.take(), this.pendingSessionRenewals.take());
      return;
    }
    if (!address) return; // keep them until a leader is known; the new leader grants full leases anyway
    const batches = renewalBatches(
      this.pendingInstanceRenewals.take(),
      this.pendingSessionRenewals.take(),
      RENEWAL_BATCH_BYTES_MAX,
    );
    const dialer = this.opts.dialer ?? PLAINTEXT_DIALER;
    const dispatcher = dialer.dispatcher();
    for (const batch of batches) {
      try {
        const res = await request(dialer.url(address, this.opts.renewalPath ?? RENEWAL_PATH), {
          method: 'POST',
          headers: { 'content-type': 'application/json', [CLUSTER_AUTH_HEADER]: this.opts.clusterSecret },
          body: JSON.stringify(batch),
          headersTimeout: 2000,
          bodyTimeout: 2000,
          ...(dispatcher ? { dispatcher } : {}),
        });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`the leader answered ${res.statusCode}`);
        this.counters.renewalsForwarded += batch.instances.length + batch.sessions.length;
      } catch (err) {
        this.log.debug({ err, leader }, 'forwarding renewals failed; the next batch retries');
      }
    }
  }

  private onRole(leading: boolean): void {
    if (leading === this.leading) return;
    this.leading = leading;
    this.rebuildLeases();
  }

  private rebuildLeases(): void {
    this.leases.clear();
    if (!this.leading) return;
    // A new leader: track every lease the registry holds, each granted a full period from now.
    const now = performance.now();
    for (const inst of this.state.allInstances()) this.trackLease(inst, now);
    for (const s of this.state.listSessions()) this.leases.trackSession(s.id, s.ttlMs, now);
    this.log.info(
      { instances: this.leases.instanceLeaseCount, sessions: this.leases.sessionLeaseCount },
      'leading: leases granted',
    );
  }

  private trackLease(inst: Instance, now: number): void {
    if (inst.ephemeral && inst.lease?.kind === 'instance') this.leases.trackInstance(inst, now);
  }

  /** The leader commits lease transitions found since the last scan, in batches. */
  private async leaderDuties(): Promise<void> {
    if (!this.raftNode.isLeader || this.scanning || this.closed) return;
    this.scanning = true;
    try {
      const t = this.leases.scan(performance.now());
      // Keys only: the log need not carry each instance's metadata again.
      const changes = [
        ...t.unhealthy.map((i) => ({ key: instanceKeyOf(i), healthy: false })),
        ...t.healthyAgain.map((i) => ({ key: instanceKeyOf(i), healthy: true })),
      ];
      const work: Promise<unknown>[] = [];
      if (changes.length > 0) work.push(this.execute({ op: 'health', changes }));
      if (t.expired.length > 0) work.push(this.execute({ op: 'expire', keys: t.expired.map(instanceKeyOf) }));
      if (t.expiredSessions.length > 0) work.push(this.execute({ op: 'session.close', sessionIds: t.expiredSessions }));
      this.counters.transitions += changes.length + t.expired.length + t.expiredSessions.length;
      const results = await Promise.allSettled(work);
      for (const r of results)
        if (r.status === 'rejected') this.log.warn({ err: r.reason }, 'committing lease transitions failed');
    } finally {
      this.scanning = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // The state machine
  // -------------------------------------------------------------------------------------------

  private applyEntry(index: number, data: Uint8Array): ApplyResult {
    let cmd: Command;
    try {
      cmd = decodeCommand(data);
    } catch {
      return { ok: false, code: 'INTERNAL', message: `entry ${index} does not decode` };
    }
    const { result, changes } = this.state.apply(index, cmd);
    if (this.leading) this.updateLeases(cmd, changes);
    this.hub.publish(index, changes);
    for (const l of this.changeListeners) l(index, changes);
    return result;
  }

  private updateLeases(cmd: Command, changes: readonly Change[]): void {
    const now = performance.now();
    if (cmd.op === 'session.open') {
      const s = this.state.session(cmd.sessionId);
      if (s) this.leases.trackSession(s.id, s.ttlMs, now);
    }
    if (cmd.op === 'session.close') for (const id of cmd.sessionIds) this.leases.untrackSession(id);
    for (const c of changes) {
      if (c.kind !== 'instance') continue;
      if (c.action === 'delete') this.leases.untrackInstance(leaseIdOf(c.instance));
      else this.trackLease(c.instance, now);
    }
  }

  private async restore(data: Uint8Array, index: number): Promise<void> {
    // The snapshot's own revision is that of its last registry command; entries after it that were
    // not registry commands (no-ops, configuration) still count toward the index. Decoded in slices,
    // so that a large snapshot does not stall heartbeats (and reads of the state it replaces).
    const restored = await RegistryState.restoreInSlices(data);
    restored.revision = index;
    this.current = restored;
    this.hub.reset(index);
    this.rebuildLeases();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    if (this.forwardTimer) clearInterval(this.forwardTimer);
    await this.raftNode.close();
  }
}

/** Maps the Raft library's refusals to the registry's error codes. */
export function toCairnError(err: unknown): CairnError {
  if (err instanceof CairnError) return err;
  if (err instanceof TypeError) return new CairnError('VALIDATION_FAILED', err.message);
  if (err instanceof RaftError) {
    switch (err.code) {
      case 'NO_LEADER':
      case 'NOT_LEADER':
      case 'TRANSFER_IN_PROGRESS':
        return new CairnError('NO_LEADER', `the zone has no leader right now (${err.message}); retry shortly`);
      case 'PROPOSAL_DROPPED':
        return new CairnError('UNAVAILABLE', `the write was not accepted (${err.message}); retry shortly`);
      case 'TIMEOUT':
        return new CairnError('TIMEOUT', 'the write was not confirmed in time; it may or may not have taken effect');
      case 'CLOSED':
        return new CairnError('UNAVAILABLE', 'this replica is shutting down');
      case 'CONF_CHANGE_PENDING':
      case 'CONF_CHANGE_INVALID':
      case 'LEARNER_BEHIND':
        return new CairnError('CONFLICT', err.message);
      default:
        return new CairnError('INTERNAL', err.message);
    }
  }
  return new CairnError('INTERNAL', err instanceof Error ? err.message : String(err));
}
