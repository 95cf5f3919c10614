/**
 * The Raft node: drives the pure core with a clock, durable storage, peer links and the caller's
 * state machine.
 *
 * One loop carries out the core's Ready batches, strictly one at a time, in the order documented on
 * `Ready`: send, persist (one synced batch), send what needed persistence, restore, apply, advance.
 * Inputs (ticks, messages, proposals) keep reaching the core while a batch is being persisted; they
 * make up the next batch, so one fsync covers every proposal that arrived during the previous one
 * (group commit). Messages that may leave before persistence are taken out meanwhile, so followers
 * write in parallel with the leader.
 *
 * Any failure of storage or of the state machine is fatal: the node rejects everything and closes
 * rather than continue from a state it cannot vouch for.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { type Logger, pino } from 'pino';
import type { WebSocket } from 'ws';
import { decodeConfChange } from '../core/conf-change.js';
import { invariant, RaftError } from '../core/errors.js';
import { RaftCore } from '../core/raft.js';
import { systemRandom } from '../core/random.js';
import {
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  NONE,
  type NodeId,
  type RaftStatus,
  type RandomSource,
  type Ready,
  type Role,
  type Snapshot,
} from '../core/types.js';
import { deferred } from './deferred.js';
import { LogStore } from './log-store.js';
import { PeerTransport } from './peer-transport.js';
import { type ProposalOutcome, ProposalTracker } from './proposal-tracker.js';
import {
  type RaftNodeOptions,
  type ResolvedNodeOptions,
  resolveOptions,
  validAddress,
  validNodeId,
} from './raft-node-options.js';
import { ReadTracker, type Waiting } from './read-tracker.js';
import { unwrapSnapshot, wrapSnapshot } from './snapshot-envelope.js';
import { type PersistEvent, StorageMeter, type StorageStats } from './storage-stats.js';
import type { TransportStats } from './transport-stats.js';

export interface RaftNodeEvents {
  /** The leader this node knows changed (NONE while there is none). */
  leader: [leader: NodeId, term: number];
  role: [role: Role];
  /** Entries through `index` are applied. */
  applied: [index: number];
  /** This node was removed from the cluster; it keeps running idle until closed. */
  removed: [];
  /** Storage or the state machine failed; the node has closed itself. */
  fatal: [err: Error];
  /** A durable write finished (for fsync latency histograms). */
  persisted: [event: PersistEvent];
}

export interface RaftNodeStatus extends RaftStatus {
  /** Applied to the state machine (the core's `applied` lags by the Ready in flight). */
  readonly applied: number;
  readonly snapshotIndex: number;
  readonly members: Readonly<Record<NodeId, string>>;
  readonly pendingProposals: number;
  readonly pendingReads: number;
  readonly transport: TransportStats;
  readonly storage: StorageStats;
}

export interface TimeoutOption {
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 5_000;

export async function createRaftNode(options: RaftNodeOptions): Promise<RaftNode> {
  const resolved = resolveOptions(options);
  const logger = (options.logger ?? pino()).child({ node: resolved.id });
  const store = await LogStore.open(resolved.dataDir, { snapshotChunkBytes: resolved.core.snapshotChunkBytes });
  try {
    return await RaftNode.start(resolved, store, logger, options.random ?? systemRandom());
  } catch (err) {
    await store.close().catch(() => {});
    throw err;
  }
}

export class RaftNode extends EventEmitter<RaftNodeEvents> {
  readonly id: NodeId;
  private readonly opts: ResolvedNodeOptions;
  private readonly log: Logger;
  private readonly core: RaftCore;
  private readonly store: LogStore;
  private readonly transport: PeerTransport;
  private readonly proposals = new ProposalTracker();
  private readonly storageMeter = new StorageMeter();
  private readonly reads: ReadTracker;
  private readonly transfers: { to: NodeId; waiter: ReturnType<typeof deferred<void>> }[] = [];
  /** member id -> "host:port", as of the applied index. */
  private readonly members: Map<NodeId, string>;
  private applied: number;
  private snapshotIndex: number;
  private conf: ConfState;
  private role: Role = 'follower';
  private leader: NodeId = NONE;
  private readonly ticker: NodeJS.Timeout;
  private pumpScheduled = false;
  private draining: Promise<void> | null = null;
  private readyInFlight = false;
  /** The address book changed since it was last persisted. */
  private membersDirty = false;
  /** A removal of this node was applied; 'removed' is emitted once the Ready is settled. */
  private removedSelf = false;
  /** The state machine's snapshot being serialized while the loop keeps applying. */
  private snapshotting: PendingSnapshot | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;

  /** Loads the store, restores the state machine from the latest snapshot, and starts the loop. */
  static async start(opts: ResolvedNodeOptions, store: LogStore, log: Logger, random: RandomSource): Promise<RaftNode> {
    const state = await store.load();
    let bootstrap = state.bootstrap;
    const fresh =
      bootstrap === null && state.snapshot === null && state.entries.length === 0 && state.hardState.term === 0;
    if (bootstrap === null) {
      // A directory with Raft state but no bootstrap record was not written by this node: refuse to guess.
      if (!fresh) throw new RaftError('STORAGE', `raft storage ${opts.dataDir}: state without a bootstrap record`);
      bootstrap = { voters: opts.join ? [] : [...opts.peers.keys()].sort(), learners: [] };
      await store.saveBootstrap(bootstrap);
      log.info({ voters: bootstrap.voters, join: opts.join }, 'raft data directory initialized');
    } else if (!opts.join && !sameIds(bootstrap.voters, [...opts.peers.keys()])) {
      log.warn(
        { stored: bootstrap.voters, given: [...opts.peers.keys()] },
        'peers differ from the configuration this data directory was bootstrapped with; using the stored one',
      );
    }

    // Addresses: the snapshot's book, then what was persisted since, then what the operator says now.
    const members = new Map<NodeId, string>();
    let userSnapshot: Uint8Array | null = null;
    if (state.snapshot !== null) {
      const envelope = unwrapSnapshot(state.snapshot.data);
      for (const [id, address] of envelope.members) members.set(id, address);
      userSnapshot = envelope.data;
    }
    for (const [id, address] of state.members) members.set(id, address);
    for (const [id, address] of opts.peers) members.set(id, address);
    if (state.snapshot !== null && userSnapshot !== null) {
      await opts.stateMachine.restore(userSnapshot, state.snapshot.meta.index);
    }

    const core = new RaftCore(
      { ...opts.core, random },
      { hardState: state.hardState, snapshot: state.snapshot, entries: state.entries },
      bootstrap,
    );
    return new RaftNode(opts, store, log, core, members, random);
  }

  private constructor(
    opts: ResolvedNodeOptions,
    store: LogStore,
    log: Logger,
    core: RaftCore,
    members: Map<NodeId, string>,
    random: RandomSource,
  ) {
    super();
    this.id = opts.id;
    this.opts = opts;
    this.log = log;
    this.core = core;
    this.store = store;
    this.members = members;
    this.reads = new ReadTracker(opts.id);
    const status = core.status();
    this.applied = status.applied;
    this.snapshotIndex = status.firstIndex - 1;
    this.conf = status.conf;
    this.transport = new PeerTransport({
      id: opts.id,
      clusterSecret: opts.clusterSecret,
      advertiseAddress: opts.advertiseAddress,
      isMember: (id) => this.isMember(id),
      onMessages: (_from, messages) => this.onMessages(messages),
      onPeerAddress: (id, address) => this.onPeerAddress(id, address),
      onPeerLost: (id) => this.onPeerLost(id),
      maxFrameBytes: opts.maxFrameBytes,
      maxQueuedMessages: opts.maxQueuedMessagesPerPeer,
      // Below the election timeout, so a restarted peer is redialed before it would campaign.
      reconnectMaxMs: Math.max(10, Math.floor(opts.electionTimeoutMs / 2)),
      handshakeTimeoutMs: Math.max(500, opts.electionTimeoutMs),
      pingIntervalMs: Math.max(1_000, 2 * opts.electionTimeoutMs),
      path: opts.peerPath,
      ...(opts.peerTls ? { tls: opts.peerTls } : {}),
      logger: log,
      random: () => random.int(1_000_000) / 1_000_000,
    });
    for (const [id, address] of members) if (id !== this.id) this.transport.setPeer(id, address);
    this.ticker = setInterval(() => this.onTick(), opts.tickMs);
    this.ticker.unref();
    log.info(
      { term: status.term, commit: status.commit, applied: this.applied, lastIndex: status.lastIndex, conf: this.conf },
      'raft node started',
    );
    this.schedulePump();
  }

  // -------------------------------------------------------------------------------------------
  // Public API
  // -------------------------------------------------------------------------------------------

  /**
   * Replicates `data` and resolves once it is applied here, with its index and what apply returned.
   * On a follower the proposal is forwarded to the leader. Rejects with the core's RaftError
   * (NO_LEADER, PROPOSAL_DROPPED, TRANSFER_IN_PROGRESS), with PROPOSAL_DROPPED if the entry was
   * overwritten by a new leader (it did not commit), or TIMEOUT (the outcome is unknown).
   */
  propose(data: Uint8Array, { timeoutMs = DEFAULT_TIMEOUT_MS }: TimeoutOption = {}): Promise<ProposalOutcome> {
    if (!(data instanceof Uint8Array) || data.byteLength === 0) {
      return Promise.reject(
        new TypeError('propose: data must be a non-empty Uint8Array (empty entries are leader no-ops)'),
      );
    }
    if (data.byteLength > this.opts.core.maxMsgBytes) {
      return Promise.reject(
        new RaftError(
          'PROPOSAL_DROPPED',
          `a ${data.byteLength}-byte proposal exceeds maxMsgBytes (${this.opts.core.maxMsgBytes})`,
        ),
      );
    }
    const refused = this.refuseRequest();
    if (refused) return Promise.reject(refused);
    const waiter = deferred<ProposalOutcome>(timeoutMs);
    try {
      const result = this.core.propose(data);
      if (result.kind === 'appended') this.proposals.landed(result.index, result.term, waiter);
      else this.proposals.forwarded(result.reqId, waiter);
    } catch (err) {
      return this.refusedByCore(err);
    }
    this.requestAdded();
    return waiter.promise;
  }

  /**
   * A linearizable read barrier: resolves with a read index once this node has applied through it,
   * so state read from the state machine afterwards reflects every write acknowledged before the call.
   * Retries while the leader cannot confirm yet; rejects with the last refusal (or TIMEOUT) at the deadline.
   */
  readIndex({ timeoutMs = DEFAULT_TIMEOUT_MS }: TimeoutOption = {}): Promise<number> {
    const refused = this.refuseRequest();
    if (refused) return Promise.reject(refused);
    const waiter = deferred<number>(timeoutMs);
    this.issueRead({ waiter, lastError: null });
    this.requestAdded();
    return waiter.promise;
  }

  /** Asks the leader (this node) to hand leadership to `to`; resolves once this node sees `to` lead. */
  transferLeadership(to: NodeId, { timeoutMs }: TimeoutOption = {}): Promise<void> {
    const refused = this.refuseRequest();
    if (refused) return Promise.reject(refused);
    if (to === this.id && this.role === 'leader') return Promise.resolve();
    const waiter = deferred<void>(timeoutMs ?? 2 * this.opts.electionTimeoutMs);
    try {
      this.core.transferLeadership(to);
    } catch (err) {
      return this.refusedByCore(err);
    }
    this.transfers.push({ to, waiter });
    this.requestAdded();
    return waiter.promise;
  }

  /**
   * Adds a member reachable at `address`, as a learner (`learner: true`, catches up without voting)
   * or straight as a voter. Only on the leader (NOT_LEADER names the leader otherwise); resolves once
   * the change is applied here.
   */
  addMember(
    id: NodeId,
    address: string,
    { learner = false, timeoutMs = DEFAULT_TIMEOUT_MS }: TimeoutOption & { learner?: boolean } = {},
  ): Promise<ProposalOutcome> {
    if (!validNodeId(id)) return Promise.reject(new TypeError(`addMember: invalid node id ${JSON.stringify(id)}`));
    if (!validAddress(address))
      return Promise.reject(new TypeError(`addMember: invalid address ${JSON.stringify(address)}`));
    return this.proposeConfChange({ type: learner ? 'addLearner' : 'addVoter', node: id, context: address }, timeoutMs);
  }

  /** Makes a caught-up learner a voter (LEARNER_BEHIND if it is not caught up yet). */
  promoteMember(id: NodeId, { timeoutMs = DEFAULT_TIMEOUT_MS }: TimeoutOption = {}): Promise<ProposalOutcome> {
    return this.proposeConfChange({ type: 'addVoter', node: id, context: this.members.get(id) ?? '' }, timeoutMs);
  }

  /** Removes a member (voter or learner). Removing the leader makes it step down once applied. */
  removeMember(id: NodeId, { timeoutMs = DEFAULT_TIMEOUT_MS }: TimeoutOption = {}): Promise<ProposalOutcome> {
    return this.proposeConfChange({ type: 'removeNode', node: id, context: '' }, timeoutMs);
  }

  /** Calls `listener(leader, term)` on every leader change; returns a function that unsubscribes. */
  onLeaderChange(listener: (leader: NodeId, term: number) => void): () => void {
    this.on('leader', listener);
    return () => this.off('leader', listener);
  }

  status(): RaftNodeStatus {
    return {
      ...this.core.status(),
      applied: this.applied,
      snapshotIndex: this.snapshotIndex,
      members: Object.fromEntries(this.members),
      pendingProposals: this.proposals.size,
      pendingReads: this.reads.size,
      transport: this.transport.stats(),
      storage: this.storageMeter.stats(),
    };
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  get leaderId(): NodeId {
    return this.leader;
  }

  get appliedIndex(): number {
    return this.applied;
  }

  /** Serves peer links on `server` (its 'upgrade' event, only for `path`). */
  attachPeerServer(server: Server, path = this.opts.peerPath): void {
    this.transport.attach(server, path);
  }

  /** Takes a peer socket upgraded elsewhere (e.g. by @fastify/websocket); it is authenticated here. */
  acceptPeerSocket(ws: WebSocket, req: IncomingMessage): void {
    this.transport.acceptSocket(ws, req);
  }

  /** For a framework that wants to refuse before upgrading: the verdict on an upgrade request. */
  verifyPeerUpgrade(req: IncomingMessage): ReturnType<PeerTransport['verifyUpgrade']> {
    return this.transport.verifyUpgrade(req);
  }

  /** Stops the node: timers, links and storage; pending requests reject with CLOSED. */
  close(): Promise<void> {
    return this.shutdown(new RaftError('CLOSED', `raft node ${this.id} was closed`));
  }

  // -------------------------------------------------------------------------------------------
  // Inputs
  // -------------------------------------------------------------------------------------------

  private onTick(): void {
    if (this.closed) return;
    this.guard(() => this.core.tick());
    const nowMs = performance.now();
    this.proposals.expire(nowMs);
    this.reads.expire(nowMs);
    this.expireTransfers(nowMs);
    for (const w of this.reads.takeRetries()) this.issueRead(w);
    if (this.pendingRequests() === 0) this.ticker.unref();
    this.schedulePump();
  }

  private onMessages(messages: readonly Message[]): void {
    if (this.closed) return;
    this.guard(() => {
      for (const m of messages) this.core.step(m);
    });
    this.schedulePump();
  }

  private onPeerAddress(id: NodeId, address: string): void {
    // Only a hint for peers this node has no address for (e.g. the leader, seen by a joining node).
    if (this.closed || this.members.has(id) || !validAddress(address)) return;
    if (!this.transport.hasPeer(id)) {
      this.log.info({ peer: id, address }, 'learned a raft peer address from its handshake');
      this.transport.setPeer(id, address);
    }
  }

  /** A broken connection to the leader: campaign soon rather than after a whole election timeout. */
  private onPeerLost(id: NodeId): void {
    if (this.closed || id !== this.leader || this.role !== 'follower') return;
    this.log.info({ leader: id }, 'lost the connection to the leader; campaigning early unless it is heard again');
    this.guard(() => this.core.leaderUnreachable(id));
  }

  private isMember(id: NodeId): boolean {
    // A node waiting to join knows no configuration yet: any holder of the cluster secret may talk to it.
    if (this.conf.voters.length === 0 && this.conf.learners.length === 0) return true;
    return this.conf.voters.includes(id) || this.conf.learners.includes(id);
  }

  private proposeConfChange(cc: ConfChange, timeoutMs: number): Promise<ProposalOutcome> {
    const refused = this.refuseRequest();
    if (refused) return Promise.reject(refused);
    const waiter = deferred<ProposalOutcome>(timeoutMs);
    try {
      // Dial the new member as soon as the leader starts replicating to it, not only once applied.
      if (cc.context !== '' && cc.node !== this.id) this.transport.setPeer(cc.node, cc.context);
      const result = this.core.proposeConfChange(cc);
      invariant(result.kind === 'appended', 'conf changes are appended by the leader');
      this.proposals.landed(result.index, result.term, waiter);
    } catch (err) {
      return this.refusedByCore(err);
    }
    this.log.info({ change: cc }, 'raft configuration change proposed');
    this.requestAdded();
    return waiter.promise;
  }

  /** A refusal from the core (NOT_LEADER, ...) goes back to the caller; a broken invariant is fatal. */
  private refusedByCore<T>(err: unknown): Promise<T> {
    if (!(err instanceof RaftError) || err.code === 'INVARIANT') this.fatal(err);
    return Promise.reject(err);
  }

  private issueRead(w: Waiting): void {
    const context = this.reads.issue(w);
    try {
      this.core.readIndex(context);
    } catch (err) {
      if (!(err instanceof RaftError) || err.code === 'INVARIANT') {
        this.fatal(err);
        return;
      }
      this.reads.failedToIssue(context, err);
    }
    this.schedulePump();
  }

  private refuseRequest(): RaftError | null {
    if (this.closed) return new RaftError('CLOSED', `raft node ${this.id} is closed`);
    if (this.pendingRequests() >= this.opts.maxPendingRequests) {
      return new RaftError(
        'PROPOSAL_DROPPED',
        `${this.opts.maxPendingRequests} requests are pending already; retry later`,
      );
    }
    return null;
  }

  private pendingRequests(): number {
    return this.proposals.size + this.reads.size + this.transfers.length;
  }

  private requestAdded(): void {
    // Keep the process alive while someone awaits an answer; the idle ticker does not.
    this.ticker.ref();
    this.schedulePump();
  }

  private expireTransfers(nowMs: number): void {
    for (let i = this.transfers.length - 1; i >= 0; i--) {
      const t = this.transfers[i]!;
      if (nowMs < t.waiter.deadlineMs) continue;
      this.transfers.splice(i, 1);
      t.waiter.reject(new RaftError('TIMEOUT', `leadership did not move to ${t.to} in time`));
    }
  }

  // -------------------------------------------------------------------------------------------
  // The Ready loop
  // -------------------------------------------------------------------------------------------

  /** Runs the loop (or, during a Ready's fsync, ships the messages that need no fsync) on the next turn. */
  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      if (this.closed) return;
      if (this.readyInFlight) {
        const messages = this.guard(() => this.core.takeMessages());
        if (messages) this.transport.send(messages);
      } else if (this.draining === null) {
        this.draining = this.drain().finally(() => {
          this.draining = null;
        });
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (!this.closed) {
        // Between Readies, so the store never writes a snapshot and a Ready at once.
        if (this.snapshotting?.data) {
          await this.finishSnapshot(this.snapshotting);
          // Entries applied while it serialized may call for the next one already.
          if (!this.closed) this.maybeSnapshot();
        }
        if (this.closed || !this.core.hasReady()) break;
        const rd = this.core.ready();
        this.readyInFlight = true;
        const carriedOut = await this.carryOut(rd);
        this.readyInFlight = false;
        if (!carriedOut) return;
        // From applying to here nothing awaited, so status() never shows entries applied under an
        // older configuration than theirs.
        this.core.advance();
        const conf = this.core.status().conf;
        const confChanged = conf !== this.conf;
        this.conf = conf;
        if (confChanged) this.transport.closeNonMembers();
        this.settle(rd);
        if (this.membersDirty) {
          this.membersDirty = false;
          const startedMs = performance.now();
          await this.store.saveMembers(this.members);
          this.persisted('members', startedMs, true, 0);
        }
        this.maybeSnapshot();
      }
    } catch (err) {
      this.readyInFlight = false;
      this.fatal(err);
    }
  }

  /** Steps 1-4 of a Ready (see types.ts). False if the node closed meanwhile: nothing more is done. */
  private async carryOut(rd: Ready): Promise<boolean> {
    this.learnAddresses(rd.entries);
    this.transport.send(rd.messages);
    if (rd.hardState !== null || rd.entries.length > 0 || rd.snapshot !== null) {
      const startedMs = performance.now();
      const synced = await this.store.save({ hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot });
      this.persisted('ready', startedMs, synced, rd.entries.length);
    }
    if (this.closed) return false;
    this.transport.send(rd.persistedMessages);
    if (rd.snapshot !== null) await this.restoreSnapshot(rd.snapshot);
    if (this.closed) return false;
    for (const entry of rd.committed) this.applyEntry(entry);
    return true;
  }

  /** After advance: answers what the Ready decided and tells listeners. */
  private settle(rd: Ready): void {
    for (const ack of rd.proposalAcks) this.proposals.acked(ack, this.applied);
    for (const rs of rd.readStates) this.reads.answered(rs, this.applied);
    this.reads.applied(this.applied);
    if (rd.softState !== null) this.onSoftState(rd.softState.role, rd.softState.leader);
    if (rd.committed.length > 0 || rd.snapshot !== null) this.emit('applied', this.applied);
    if (this.removedSelf) {
      this.removedSelf = false;
      this.emit('removed');
    }
    // A sole voter need not wait an election timeout for itself. The core refuses to campaign until
    // committed conf entries are applied, so this is tried here, after each apply, not at start.
    const soleVoter = this.conf.voters.length === 1 && this.conf.voters[0] === this.id;
    if (soleVoter && this.role !== 'leader' && this.leader === NONE) this.core.campaign();
  }

  private applyEntry(entry: Entry): void {
    invariant(entry.index === this.applied + 1, `applying ${entry.index} after ${this.applied}`);
    let result: unknown;
    if (entry.type === 'conf') {
      const cc = decodeConfChange(entry.data);
      this.applyConfChange(cc, entry.index);
      result = cc;
    } else if (entry.data.byteLength > 0) {
      // A throw here is fatal (see StateMachine.apply): the loop catches it and closes the node.
      result = this.opts.stateMachine.apply({ index: entry.index, term: entry.term, data: entry.data });
    }
    this.applied = entry.index;
    this.proposals.applied(entry.index, entry.term, result);
  }

  /** Updates the address book and the links; the core updates its own configuration on advance. */
  private applyConfChange(cc: ConfChange, index: number): void {
    this.log.info({ change: cc, index }, 'raft configuration change applied');
    if (cc.type === 'removeNode') {
      this.membersDirty = this.members.delete(cc.node) || this.membersDirty;
      if (cc.node === this.id) {
        this.log.warn('this node was removed from the cluster');
        this.removedSelf = true;
      } else {
        this.transport.removePeer(cc.node);
      }
      return;
    }
    if (cc.context === '' || this.members.get(cc.node) === cc.context) return;
    this.members.set(cc.node, cc.context);
    this.membersDirty = true;
    if (cc.node !== this.id) this.transport.setPeer(cc.node, cc.context);
  }

  /** Appended (not yet committed) conf entries tell where a new member lives before it is applied. */
  private learnAddresses(entries: readonly Entry[]): void {
    for (const e of entries) {
      if (e.type !== 'conf') continue;
      const cc = decodeConfChange(e.data);
      if (cc.type !== 'removeNode' && cc.context !== '' && cc.node !== this.id && !this.transport.hasPeer(cc.node)) {
        this.transport.setPeer(cc.node, cc.context);
      }
    }
  }

  private async restoreSnapshot(snapshot: Snapshot): Promise<void> {
    invariant(
      snapshot.meta.index > this.applied,
      `snapshot at ${snapshot.meta.index} is not past applied ${this.applied}`,
    );
    const { members, data } = unwrapSnapshot(snapshot.data);
    await this.opts.stateMachine.restore(data, snapshot.meta.index);
    this.applied = snapshot.meta.index;
    this.snapshotIndex = snapshot.meta.index;
    this.proposals.restored(snapshot.meta.index);
    for (const id of [...this.members.keys()]) {
      if (!members.has(id) && id !== this.id) {
        this.members.delete(id);
        this.transport.removePeer(id);
      }
    }
    for (const [id, address] of members) {
      this.members.set(id, address);
      if (id !== this.id) this.transport.setPeer(id, address);
    }
    this.membersDirty = true;
    this.log.info(
      { index: snapshot.meta.index, term: snapshot.meta.term, bytes: snapshot.data.byteLength },
      'raft snapshot installed',
    );
  }

  /**
   * Snapshots the state machine and compacts the log every `snapshotEntries` applied entries, and
   * once as soon as anything is applied: then a member that joins always starts from a snapshot, and
   * learns every member's address from it (the bootstrap conf entries carry no addresses).
   *
   * The state machine captures its state now and may serialize it later: the loop keeps applying
   * meanwhile, and compacts at the captured index once the data is there (`finishSnapshot`).
   */
  private maybeSnapshot(): void {
    const index = this.applied;
    if (this.snapshotting !== null || index <= this.snapshotIndex) return;
    if (this.snapshotIndex > 0 && index - this.snapshotIndex < this.opts.snapshotEntries) return;
    const pending: PendingSnapshot = {
      index,
      conf: this.conf,
      members: new Map(this.members),
      startedMs: performance.now(),
      data: null,
    };
    this.snapshotting = pending;
    const data = this.opts.stateMachine.snapshot();
    if (data instanceof Uint8Array) {
      pending.data = data;
      return;
    }
    data.then(
      (bytes) => {
        pending.data = bytes;
        this.schedulePump();
      },
      (err: unknown) => this.fatal(err),
    );
  }

  private async finishSnapshot(pending: PendingSnapshot): Promise<void> {
    const { index, data } = pending;
    invariant(data !== null, 'finishing a snapshot before its data');
    try {
      // A snapshot from the leader may have been installed while the state machine serialized.
      if ((this.core.latestSnapshot()?.meta.index ?? 0) >= index) return;
      const snapshot = this.core.compact(index, wrapSnapshot(pending.members, data), pending.conf);
      const startedMs = performance.now();
      await this.store.compact(snapshot);
      this.persisted('snapshot', startedMs, true, 0);
      this.snapshotIndex = Math.max(this.snapshotIndex, index);
      this.log.info(
        { index, bytes: snapshot.data.byteLength, ms: Math.round(performance.now() - pending.startedMs) },
        'raft snapshot taken; log compacted',
      );
    } finally {
      if (this.snapshotting === pending) this.snapshotting = null;
    }
  }

  private persisted(kind: PersistEvent['kind'], startedMs: number, synced: boolean, entries: number): void {
    const event: PersistEvent = { kind, ms: performance.now() - startedMs, synced, entries };
    this.storageMeter.record(event);
    if (this.listenerCount('persisted') > 0) this.emit('persisted', event);
  }

  private onSoftState(role: Role, leader: NodeId): void {
    const term = this.core.status().term;
    if (role !== this.role) {
      this.log.info({ role, term }, 'raft role changed');
      this.role = role;
      this.emit('role', role);
    }
    if (leader !== this.leader) {
      this.log.info({ leader: leader || null, term }, 'raft leader changed');
      this.leader = leader;
      for (let i = this.transfers.length - 1; i >= 0; i--) {
        const t = this.transfers[i]!;
        if (t.to !== leader) continue;
        this.transfers.splice(i, 1);
        t.waiter.resolve();
      }
      this.emit('leader', leader, term);
    }
  }

  // -------------------------------------------------------------------------------------------
  // Failure and shutdown
  // -------------------------------------------------------------------------------------------

  /** Runs a core call; an exception from the core is a broken invariant and fatal. */
  private guard<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.fatal(err);
      return undefined;
    }
  }

  private fatal(err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (this.closed) return;
    this.log.error({ err: error }, 'raft node failed; closing');
    const reason =
      error instanceof RaftError ? error : new RaftError('INVARIANT', `raft node ${this.id} failed: ${error.message}`);
    void this.shutdown(reason).then(() => this.emit('fatal', error));
  }

  private shutdown(reason: RaftError): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    clearInterval(this.ticker);
    this.transport.close();
    this.proposals.rejectAll(reason);
    this.reads.rejectAll(reason);
    for (const t of this.transfers.splice(0)) t.waiter.reject(reason);
    this.closing = (async () => {
      // Let a write in progress finish so the store closes on a whole batch.
      await this.draining?.catch(() => {});
      await this.store.close();
      this.log.info('raft node closed');
    })();
    return this.closing;
  }
}

/** A snapshot of the state machine at `index`, with what the node must store beside it. */
interface PendingSnapshot {
  readonly index: number;
  /** The configuration and address book as of `index`. */
  readonly conf: ConfState;
  readonly members: ReadonlyMap<NodeId, string>;
  readonly startedMs: number;
  /** The state machine's bytes, once serialized. */
  data: Uint8Array | null;
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sorted = [...b].sort();
  return [...a].sort().every((id, i) => id === sorted[i]);
}
