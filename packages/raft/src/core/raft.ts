import { applyConfChange, decodeConfChange, encodeConfChange, isMember } from './conf-change.js';
import { invariant, RaftError } from './errors.js';
import { Progress } from './progress.js';
import { committedIndex, majority, voteResult } from './quorum.js';
import { RaftLog } from './raft-log.js';
import {
  type AppendMessage,
  type AppendResponseMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  type EntryType,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type Message,
  NONE,
  type NodeId,
  type PersistedState,
  type ProposalAck,
  type ProposeMessage,
  type ProposeResult,
  type RaftConfig,
  type RaftStatus,
  type ReadIndexMessage,
  type ReadState,
  type Ready,
  type Role,
  type Snapshot,
  type SnapshotChunkMessage,
  type SnapshotResponseMessage,
  type SoftState,
  type VoteMessage,
  type VoteResponseMessage,
} from './types.js';

/** A ReadIndex request waiting for a quorum to confirm leadership. */
interface PendingRead {
  readonly seq: number;
  readonly index: number;
  readonly context: string;
  /** Who asked: this node, or a follower that forwarded the request. */
  readonly from: NodeId;
}

/** A snapshot being received from the leader, chunk by chunk. */
interface IncomingSnapshot {
  readonly meta: SnapshotChunkMessage['meta'];
  readonly totalBytes: number;
  readonly chunks: Uint8Array[];
  received: number;
}

/** What the outstanding Ready handed out, so advance() knows what became durable and applied. */
interface InFlight {
  readonly lastEntry: { index: number; term: number } | null;
  readonly snapshotIndex: number;
  readonly applyingTo: number;
  readonly committed: readonly Entry[];
}

const EMPTY = new Uint8Array(0);

/**
 * The Raft consensus core: a deterministic state machine with no I/O and no clock. Time is `tick()`,
 * input is `step()` and the propose/read/transfer calls, output is the `Ready` batch.
 *
 * Membership changes go one node at a time and take effect when applied (as in etcd's single-step
 * changes): any majority of the old and of the new configuration overlap, so two leaders can never be
 * elected in one term across the change. Only one change may be pending, and a new leader may not
 * propose one until it has applied an entry of its own term, which closes the known hole of
 * single-server changes across leader changes. Joint consensus would allow arbitrary changes at once;
 * a registry zone only ever adds or replaces one replica at a time, so the simpler rule is enough.
 */
export class RaftCore {
  readonly id: NodeId;
  private readonly cfg: RaftConfig;
  private readonly log: RaftLog;

  private term = 0;
  private vote: NodeId = NONE;
  private lead: NodeId = NONE;
  private role: Role = 'follower';
  private conf: ConfState;
  /** Index of the last conf entry folded into `conf`. */
  private confIndex = 0;

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;
  private readonly votes = new Map<NodeId, boolean>();
  private readonly progress = new Map<NodeId, Progress>();

  private applied: number;
  /** Highest index handed out for applying (>= applied while a Ready is in flight). */
  private applying: number;
  private pendingConfIndex = 0;
  private uncommittedBytes = 0;
  private transferee: NodeId = NONE;
  private transferElapsed = 0;

  private snapshot: Snapshot | null;
  /** A snapshot received from the leader that the next Ready must persist and restore. */
  private receivedSnapshot: Snapshot | null = null;
  private incoming: IncomingSnapshot | null = null;

  private readSeq = 0;
  private pendingReads: PendingRead[] = [];
  private nextReqId = 0;
  private forwardQueue: { type: EntryType; data: Uint8Array; reqId: number }[] = [];
  private broadcastPending = false;

  private msgs: Message[] = [];
  private persistedMsgs: Message[] = [];
  private readStates: ReadState[] = [];
  private proposalAcks: ProposalAck[] = [];
  private prevSoft: SoftState;
  private prevHard: HardState;
  private inFlight: InFlight | null = null;

  constructor(config: RaftConfig, persisted: PersistedState, initialConf: ConfState) {
    invariant(config.heartbeatTicks > 0 && config.heartbeatTicks < config.electionTicks, 'heartbeat < election');
    invariant(config.maxInflightMsgs > 0 && config.snapshotChunkBytes > 0, 'positive bounds');
    this.id = config.id;
    this.cfg = config;
    const snap = persisted.snapshot;
    this.snapshot = snap;
    const fresh = snap === null && persisted.entries.length === 0 && persisted.hardState.term === 0;
    const bootstrap = fresh ? bootstrapEntries(initialConf) : [];
    this.log = new RaftLog(snap?.meta.index ?? 0, snap?.meta.term ?? 0, [], persisted.hardState.commit);
    if (bootstrap.length > 0) {
      // A founding member writes the initial configuration into its log, so that it travels with
      // the log to members that join later. Every founder writes the same entries.
      this.log.append(bootstrap);
      this.log.commitTo(bootstrap.length);
    } else {
      this.log.append(persisted.entries);
      this.log.stableIndex = this.log.lastIndex();
      this.log.persistingIndex = this.log.stableIndex;
      invariant(persisted.hardState.commit <= this.log.lastIndex(), 'commit index beyond the persisted log');
    }
    this.term = persisted.hardState.term;
    this.vote = persisted.hardState.vote;
    // The configuration comes from the snapshot, or from the log when it starts with the bootstrap
    // entries; initialConf is only the base for a log written without them.
    const logHasConf = this.log.entry(1)?.type === 'conf';
    this.conf = snap ? snap.meta.conf : logHasConf ? { voters: [], learners: [] } : normalizeConf(initialConf);
    this.applied = snap?.meta.index ?? 0;
    this.applying = this.applied;
    this.confIndex = this.applied;
    // Committed conf changes are in force even before they are applied again after a restart.
    for (let i = this.applied + 1; i <= this.log.committed; i++) {
      const e = this.log.entry(i)!;
      if (e.type === 'conf') this.conf = applyConfChange(this.conf, decodeConfChange(e.data));
      this.confIndex = i;
    }
    this.resetElectionTimeout();
    // Request ids start at a random base so that an answer queued for a previous incarnation of this
    // node (same term, restarted) cannot be mistaken for one of ours.
    this.nextReqId = config.random.int(0x7fffffff) * 1024;
    this.prevSoft = { role: this.role, leader: this.lead };
    // A founder's first Ready must persist the commit index of its bootstrap entries; without it a
    // crash right after the first write would restart with those entries uncommitted and no voters.
    this.prevHard = fresh ? { term: 0, vote: NONE, commit: 0 } : this.hardState();
  }

  // -------------------------------------------------------------------------------------------
  // Inputs
  // -------------------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickLeader();
    else this.tickFollower();
  }

  private tickFollower(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.hup(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.transferee !== NONE) {
      this.transferElapsed++;
      if (this.transferElapsed >= this.cfg.electionTicks) this.abortTransfer();
    }
    if (this.electionElapsed >= this.cfg.electionTicks) {
      this.electionElapsed = 0;
      if (this.cfg.checkQuorum && !this.quorumActive()) {
        this.becomeFollower(this.term, NONE);
        return;
      }
      for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
    }
    if (this.heartbeatElapsed >= this.cfg.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat();
    }
  }

  /** Start an election now, as if the election timeout had fired. */
  campaign(): void {
    this.hup(false);
  }

  /**
   * The driver saw its connection to `id` break (the process died, say). If `id` leads this follower,
   * the leader lease ends now and the follower campaigns within a few ticks instead of a whole
   * election timeout. Followers all learn of a dead leader at once, so they take turns by id (the
   * first after one tick, the next a third of a timeout later...) rather than split the vote. If the
   * leader is alive after all, nothing is disturbed: pre-vote asks first, and followers that still
   * hear the leader ignore it; the next heartbeat restores the lease.
   */
  leaderUnreachable(id: NodeId): void {
    if (this.role !== 'follower' || id === NONE || this.lead !== id) return;
    this.electionElapsed = Math.max(this.electionElapsed, this.cfg.electionTicks);
    const rank = Math.max(
      0,
      this.conf.voters
        .filter((v) => v !== id)
        .sort()
        .indexOf(this.id),
    );
    const turnTicks = Math.max(1, Math.floor(this.cfg.electionTicks / 3));
    // Replaces the randomized timeout (which could otherwise fire any tick now that the lease is over).
    this.randomizedElectionTimeout = this.electionElapsed + Math.min(this.cfg.electionTicks, 1 + rank * turnTicks);
  }

  propose(data: Uint8Array): ProposeResult {
    return this.proposeEntry('normal', data);
  }

  proposeConfChange(cc: ConfChange): ProposeResult {
    if (this.role !== 'leader') throw this.notLeader();
    if (this.pendingConfIndex > this.applied) {
      throw new RaftError('CONF_CHANGE_PENDING', `a configuration change at index ${this.pendingConfIndex} is pending`);
    }
    this.validateConfChange(cc);
    const result = this.proposeEntry('conf', encodeConfChange(cc));
    invariant(result.kind === 'appended', 'a leader appends conf changes itself');
    this.pendingConfIndex = result.index;
    return result;
  }

  private validateConfChange(cc: ConfChange): void {
    const isVoter = this.conf.voters.includes(cc.node);
    const isLearner = this.conf.learners.includes(cc.node);
    if (cc.node === NONE) throw new RaftError('CONF_CHANGE_INVALID', 'a configuration change must name a node');
    if (cc.type === 'addVoter' && isVoter) throw invalidConf(`${cc.node} is already a voter`);
    if (cc.type === 'addLearner' && (isVoter || isLearner)) throw invalidConf(`${cc.node} is already a member`);
    if (cc.type === 'removeNode') {
      if (!isVoter && !isLearner) throw invalidConf(`${cc.node} is not a member`);
      if (isVoter && this.conf.voters.length === 1) throw invalidConf('cannot remove the last voter');
    }
    if (cc.type === 'addVoter' && isLearner) {
      const pr = this.progress.get(cc.node);
      if (!pr || pr.match < this.log.committed) {
        throw new RaftError(
          'LEARNER_BEHIND',
          `learner ${cc.node} has ${pr?.match ?? 0} of ${this.log.committed} committed entries; promote it once caught up`,
        );
      }
    }
  }

  readIndex(context: string): void {
    if (this.role === 'leader') {
      this.handleReadRequest(context, this.id);
      return;
    }
    if (this.lead === NONE) throw new RaftError('NO_LEADER', 'no leader is known; cannot serve a linearizable read');
    this.send({ type: 'readIndex', from: this.id, to: this.lead, term: this.term, context });
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') throw this.notLeader();
    if (to === this.id) return;
    if (!this.conf.voters.includes(to)) throw invalidConf(`${to} is not a voter and cannot lead`);
    if (this.transferee === to) return;
    this.transferee = to;
    this.transferElapsed = 0;
    const pr = this.progress.get(to)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to);
  }

  /**
   * Records a snapshot the driver took of its state machine after applying through `index`, and drops
   * the log entries it covers. The driver persists the snapshot before deleting those entries.
   * A driver that serializes while it keeps applying compacts at an earlier applied index: it then
   * passes the configuration that was in force at `index` (status().conf when it captured the state).
   */
  compact(index: number, data: Uint8Array, conf?: ConfState): Snapshot {
    invariant(index <= this.applied, `compact at ${index} but applied is ${this.applied}`);
    invariant(conf !== undefined || index === this.applied, `compact at ${index} < applied needs its configuration`);
    invariant(index <= this.log.stableIndex, 'compact past the durable log');
    invariant(index > this.log.snapshotIndex, `compact at ${index} is not past the snapshot ${this.log.snapshotIndex}`);
    // (Right after a snapshot from the leader is restored, there is nothing to compact until more is applied.)
    const term = this.log.term(index)!;
    const snap: Snapshot = { meta: { index, term, conf: conf ?? this.conf }, data };
    this.log.compactTo(index);
    this.snapshot = snap;
    return snap;
  }

  step(m: Message): void {
    if (m.to !== this.id) return;
    if (m.term > this.term) {
      if (m.type === 'vote' || m.type === 'preVote') {
        // A follower that hears a live leader ignores candidates (leader lease), unless the
        // leader itself asked for the election by transferring leadership.
        const inLease = this.cfg.checkQuorum && this.lead !== NONE && this.electionElapsed < this.cfg.electionTicks;
        if (!m.transfer && inLease) return;
      }
      if (m.type === 'preVote') {
        // Pre-votes never change the receiver's term.
      } else if (m.type === 'preVoteResp' && !m.reject) {
        // A granted pre-vote carries the term we would campaign in; the term moves only when we do.
      } else if (m.type === 'append' || m.type === 'heartbeat' || m.type === 'snapshot') {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (m.type === 'append' || m.type === 'heartbeat') {
        // Tell a stale leader about the newer term so it steps down; with check-quorum or pre-vote
        // it may otherwise never hear it (we ignore its election attempts).
        this.send({
          type: 'appendResp',
          from: this.id,
          to: m.from,
          term: this.term,
          reject: false,
          index: 0,
          rejectHint: 0,
        });
      } else if (m.type === 'preVote') {
        this.send({ type: 'preVoteResp', from: this.id, to: m.from, term: this.term, reject: true });
      } else if (m.type === 'prop') {
        this.replyDropped(m);
      } else if (m.type === 'readIndex') {
        this.refuseRead(m);
      }
      return;
    }

    switch (m.type) {
      case 'vote':
      case 'preVote':
        this.handleVoteRequest(m);
        return;
      case 'readIndexResp':
        this.readStates.push({ context: m.context, index: m.index, reject: m.reject });
        return;
      case 'propResp':
        m.reqIds.forEach((reqId, i) => {
          this.proposalAcks.push({ reqId, index: m.indexes[i] ?? 0, term: m.entryTerm });
        });
        return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Elections
  // -------------------------------------------------------------------------------------------

  private promotable(): boolean {
    return this.conf.voters.includes(this.id) && this.receivedSnapshot === null;
  }

  private hup(transfer: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // A committed but unapplied configuration change may remove us or change the quorum.
    for (let i = this.applied + 1; i <= this.log.committed; i++) {
      if (this.log.entry(i)?.type === 'conf') return;
    }
    if (this.cfg.preVote && !transfer) this.startElection('preVote', false);
    else this.startElection('vote', transfer);
  }

  private startElection(kind: 'vote' | 'preVote', transfer: boolean): void {
    let term: number;
    if (kind === 'preVote') {
      this.reset(this.term);
      this.role = 'preCandidate';
      this.lead = NONE;
      term = this.term + 1;
    } else {
      this.reset(this.term + 1);
      this.role = 'candidate';
      this.vote = this.id;
      term = this.term;
    }
    this.votes.set(this.id, true);
    if (voteResult(this.conf.voters, this.votes) === 'won') {
      if (kind === 'preVote') this.startElection('vote', transfer);
      else this.becomeLeader();
      return;
    }
    for (const voter of this.conf.voters) {
      if (voter === this.id) continue;
      const msg: VoteMessage = {
        type: kind,
        from: this.id,
        to: voter,
        term,
        lastIndex: this.log.lastIndex(),
        lastTerm: this.log.lastTerm(),
        transfer,
      };
      // A real vote request announces a term and a self-vote that must be durable first.
      if (kind === 'vote') this.sendAfterPersist(msg);
      else this.send(msg);
    }
  }

  private handleVoteRequest(m: VoteMessage): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === 'preVote' && m.term > this.term);
    const granted = canVote && this.log.isUpToDate(m.lastIndex, m.lastTerm);
    const respType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const resp: VoteResponseMessage = {
      type: respType,
      from: this.id,
      to: m.from,
      term: granted ? m.term : this.term,
      reject: !granted,
    };
    if (granted && m.type === 'vote') {
      this.electionElapsed = 0;
      this.vote = m.from;
    }
    if (m.type === 'vote' && !this.cfg.plantedBugs?.voteBeforePersist) this.sendAfterPersist(resp);
    else this.send(resp);
  }

  private stepCandidate(m: Message): void {
    switch (m.type) {
      case 'append':
      case 'heartbeat':
      case 'snapshot':
        this.becomeFollower(this.term, m.from);
        this.stepFollower(m);
        return;
      case 'voteResp':
      case 'preVoteResp': {
        const mine = this.role === 'candidate' ? 'voteResp' : 'preVoteResp';
        if (m.type !== mine) return;
        this.votes.set(m.from, !m.reject);
        const result = voteResult(this.conf.voters, this.votes);
        if (result === 'won') {
          if (this.role === 'preCandidate') this.startElection('vote', false);
          else this.becomeLeader();
        } else if (result === 'lost') {
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      case 'prop':
        this.replyDropped(m);
        return;
      case 'readIndex':
        this.refuseRead(m);
        return;
      default:
        return;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Role changes
  // -------------------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetElectionTimeout();
    this.votes.clear();
    this.abortTransfer();
    this.rejectPendingReads();
    this.progress.clear();
    this.broadcastPending = false;
    this.incoming = null;
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.role = 'follower';
    this.lead = lead;
  }

  private becomeLeader(): void {
    invariant(this.role === 'candidate', 'only a candidate becomes leader');
    const term = this.term;
    this.reset(term);
    this.role = 'leader';
    this.lead = this.id;
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.conf.voters, ...this.conf.learners]) {
      const pr = new Progress(next, this.cfg.maxInflightMsgs);
      pr.recentActive = true;
      if (id === this.id) {
        pr.match = this.log.stableIndex;
        pr.becomeReplicate();
      }
      this.progress.set(id, pr);
    }
    this.uncommittedBytes = 0;
    // The empty entry of the new term lets the leader commit (and learn the commit index of) the
    // log it inherited. No conf change may be proposed until it is applied.
    this.appendEntries([{ type: 'normal', data: EMPTY }]);
    this.pendingConfIndex = this.log.lastIndex();
  }

  private resetElectionTimeout(): void {
    this.randomizedElectionTimeout = this.cfg.electionTicks + this.cfg.random.int(this.cfg.electionTicks);
  }

  // -------------------------------------------------------------------------------------------
  // Follower
  // -------------------------------------------------------------------------------------------

  private stepFollower(m: Message): void {
    switch (m.type) {
      case 'append':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppend(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snapshot':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshotChunk(m);
        return;
      case 'timeoutNow':
        if (this.promotable()) this.hup(true);
        return;
      case 'prop':
        this.replyDropped(m);
        return;
      case 'readIndex':
        this.refuseRead(m);
        return;
      default:
        return;
    }
  }

  private handleAppend(m: AppendMessage): void {
    const reply = (reject: boolean, index: number, rejectHint: number): void => {
      this.sendAfterPersist({
        type: 'appendResp',
        from: this.id,
        to: m.from,
        term: this.term,
        reject,
        index,
        rejectHint,
      });
    };
    if (m.prevIndex < this.log.committed) {
      // Everything up to our commit index already matches the leader's log.
      reply(false, this.log.committed, 0);
      return;
    }
    if (!this.log.matchTerm(m.prevIndex, m.prevTerm)) {
      reply(true, m.prevIndex, Math.min(m.prevIndex, this.log.lastIndex()));
      return;
    }
    const lastNew = m.entries.length > 0 ? this.log.maybeAppend(m.entries) : m.prevIndex;
    this.log.commitTo(Math.min(m.commit, lastNew));
    reply(false, lastNew, 0);
  }

  private handleHeartbeat(m: HeartbeatMessage): void {
    // The leader sends min(its commit, our match), which is always within our log.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send({ type: 'heartbeatResp', from: this.id, to: m.from, term: this.term, readSeq: m.readSeq });
  }

  private handleSnapshotChunk(m: SnapshotChunkMessage): void {
    const respond = (offset: number, reject: boolean): void => {
      const resp: SnapshotResponseMessage = {
        type: 'snapshotResp',
        from: this.id,
        to: m.from,
        term: this.term,
        index: m.meta.index,
        offset,
        reject,
      };
      if (offset === m.totalBytes && !reject) this.sendAfterPersist(resp);
      else this.send(resp);
    };
    if (m.meta.index <= this.log.committed) {
      // We already have (and committed) everything this snapshot covers.
      this.incoming = null;
      this.sendAfterPersist({
        type: 'appendResp',
        from: this.id,
        to: m.from,
        term: this.term,
        reject: false,
        index: this.log.committed,
        rejectHint: 0,
      });
      return;
    }
    const cur = this.incoming;
    const same = cur !== null && cur.meta.index === m.meta.index && cur.meta.term === m.meta.term;
    if (m.offset === 0 && !(same && cur.received === 0)) {
      this.incoming = { meta: m.meta, totalBytes: m.totalBytes, chunks: [], received: 0 };
    } else if (!same || cur.received !== m.offset) {
      // Out of order (a lost or duplicated chunk): tell the leader where to resume.
      respond(same ? cur.received : 0, false);
      return;
    }
    const inc = this.incoming!;
    inc.chunks.push(m.chunk);
    inc.received += m.chunk.length;
    invariant(inc.received <= inc.totalBytes, 'snapshot chunks exceed the announced size');
    if (inc.received < inc.totalBytes) {
      respond(inc.received, false);
      return;
    }
    this.incoming = null;
    this.installSnapshot({ meta: inc.meta, data: concat(inc.chunks, inc.totalBytes) });
    respond(inc.totalBytes, false);
  }

  private installSnapshot(snap: Snapshot): void {
    const { index, term } = snap.meta;
    if (this.log.matchTerm(index, term)) {
      // Our log already holds the snapshot's last entry, so it agrees with the leader up to there:
      // keep the entries after it and just learn that they are committed.
      this.log.commitTo(index);
      return;
    }
    // The snapshot conflicts with (or is ahead of) our log: discard the whole log.
    this.log.restore(index, term);
    this.snapshot = snap;
    this.receivedSnapshot = snap;
    this.conf = snap.meta.conf;
    this.confIndex = index;
    this.applying = Math.max(this.applying, index);
  }

  // -------------------------------------------------------------------------------------------
  // Leader
  // -------------------------------------------------------------------------------------------

  private stepLeader(m: Message): void {
    if (m.type === 'prop') {
      this.handleForwardedProposal(m);
      return;
    }
    if (m.type === 'readIndex') {
      this.handleReadRequest(m.context, m.from);
      return;
    }
    const pr = this.progress.get(m.from);
    if (!pr) return;
    switch (m.type) {
      case 'appendResp':
        pr.recentActive = true;
        this.handleAppendResponse(m, pr);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m, pr);
        return;
      case 'snapshotResp':
        pr.recentActive = true;
        this.handleSnapshotResponse(m, pr);
        return;
      default:
        return;
    }
  }

  private proposeEntry(type: EntryType, data: Uint8Array): ProposeResult {
    if (this.role !== 'leader') {
      if (this.lead === NONE) throw new RaftError('NO_LEADER', 'no leader is known; the proposal cannot be forwarded');
      if (type === 'conf') throw this.notLeader();
      const reqId = ++this.nextReqId;
      this.forwardQueue.push({ type, data, reqId });
      return { kind: 'forwarded', reqId };
    }
    if (this.transferee !== NONE) {
      throw new RaftError('TRANSFER_IN_PROGRESS', `leadership is being transferred to ${this.transferee}`);
    }
    if (!this.progress.has(this.id)) throw this.notLeader();
    if (!this.appendEntries([{ type, data }])) {
      throw new RaftError(
        'PROPOSAL_DROPPED',
        `uncommitted entries exceed ${this.cfg.maxUncommittedBytes} bytes; the leader has probably lost its quorum`,
      );
    }
    return { kind: 'appended', index: this.log.lastIndex(), term: this.term };
  }

  /** Appends entries of the current term; false (and nothing appended) when over the uncommitted bound. */
  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): boolean {
    let bytes = 0;
    for (const it of items) bytes += it.data.length;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + bytes > this.cfg.maxUncommittedBytes) return false;
    this.uncommittedBytes += bytes;
    let index = this.log.lastIndex();
    this.log.append(items.map((it) => ({ term: this.term, index: ++index, type: it.type, data: it.data })));
    // Replicate lazily: every proposal until the next flush shares one append per follower.
    this.broadcastPending = true;
    return true;
  }

  private handleForwardedProposal(m: ProposeMessage): void {
    const indexes: number[] = [];
    for (const e of m.entries) {
      const ok = e.type === 'normal' && this.transferee === NONE && this.appendEntries([e]);
      indexes.push(ok ? this.log.lastIndex() : 0);
    }
    this.send({
      type: 'propResp',
      from: this.id,
      to: m.from,
      term: this.term,
      reqIds: m.reqIds,
      indexes,
      entryTerm: this.term,
    });
  }

  /** A ReadIndex request forwarded to a node that cannot serve it (not the leader, or a stale term). */
  private refuseRead(m: ReadIndexMessage): void {
    this.send({
      type: 'readIndexResp',
      from: this.id,
      to: m.from,
      term: this.term,
      context: m.context,
      index: 0,
      reject: true,
    });
  }

  private replyDropped(m: ProposeMessage): void {
    this.send({
      type: 'propResp',
      from: this.id,
      to: m.from,
      term: this.term,
      reqIds: m.reqIds,
      indexes: m.reqIds.map(() => 0),
      entryTerm: this.term,
    });
  }

  private handleAppendResponse(m: AppendResponseMessage, pr: Progress): void {
    if (m.reject) {
      if (pr.maybeDecrTo(m.index, m.rejectHint)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (wasPaused && !pr.isPaused()) this.sendAppend(m.from);
      return;
    }
    if (pr.state === 'probe') pr.becomeReplicate();
    else if (pr.state === 'snapshot' && pr.match >= pr.snapshotIndex) pr.becomeProbe();
    else if (pr.state === 'replicate') pr.inflights.freeLE(m.index);

    if (this.maybeCommit()) {
      this.broadcastPending = true;
    } else {
      // Keep the pipeline full: send whatever the window now allows.
      while (!pr.isPaused() && pr.next <= this.log.lastIndex()) this.sendAppend(m.from);
    }
    if (m.from === this.transferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: HeartbeatResponseMessage, pr: Progress): void {
    pr.recentActive = true;
    pr.probeSent = false;
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.reset();
    if (pr.match < this.log.lastIndex()) this.sendAppend(m.from);
    // A transfer target that ignored TimeoutNow (say, it had not yet applied its own promotion to
    // voter) gets it again once per heartbeat until the transfer succeeds or times out.
    else if (m.from === this.transferee) this.sendTimeoutNow(m.from);
    if (m.readSeq > pr.readAck) {
      pr.readAck = m.readSeq;
      this.releaseConfirmedReads();
    }
  }

  private handleSnapshotResponse(m: SnapshotResponseMessage, pr: Progress): void {
    if (pr.state !== 'snapshot' || m.index !== pr.snapshotIndex) return;
    if (m.reject) {
      pr.becomeProbe();
      return;
    }
    pr.snapshotAckSinceHeartbeat = true;
    const snap = this.snapshot;
    if (snap === null || snap.meta.index !== pr.snapshotIndex) {
      pr.becomeProbe();
      return;
    }
    if (m.offset >= snap.data.length) {
      pr.maybeUpdate(snap.meta.index);
      pr.becomeProbe();
      this.sendAppend(m.from);
      return;
    }
    pr.snapshotAckedBytes = m.offset;
    this.sendSnapshotChunk(m.from, snap, m.offset);
  }

  /** Advances the commit index to what a majority holds, counting only entries of this term (Figure 8). */
  private maybeCommit(): boolean {
    const self = this.progress.get(this.id);
    if (self) self.match = Math.max(self.match, this.log.stableIndex);
    const idx = committedIndex(this.conf.voters, (id) => this.progress.get(id)?.match ?? 0);
    if (idx <= this.log.committed) return false;
    if (this.log.term(idx) !== this.term && !this.cfg.plantedBugs?.commitPreviousTerm) return false;
    const before = this.log.committed;
    this.log.commitTo(idx);
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - this.log.bytesBetween(before + 1, idx));
    return true;
  }

  private sendAppend(to: NodeId): void {
    const pr = this.progress.get(to);
    if (!pr || to === this.id || pr.isPaused()) return;
    const prevIndex = pr.next - 1;
    const prevTerm = this.log.term(prevIndex);
    if (prevTerm === undefined) {
      this.startSnapshotTransfer(to, pr);
      return;
    }
    const entries =
      pr.next <= this.log.lastIndex() ? this.log.slice(pr.next, this.log.lastIndex() + 1, this.cfg.maxMsgBytes) : [];
    const msg: AppendMessage = {
      type: 'append',
      from: this.id,
      to,
      term: this.term,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
    };
    this.send(msg);
    const last = entries[entries.length - 1];
    pr.sentEntries(last ? last.index : prevIndex, entries.length);
  }

  private broadcastAppend(): void {
    this.broadcastPending = false;
    for (const id of this.progress.keys()) {
      if (id === this.id) continue;
      const pr = this.progress.get(id)!;
      // Probes and snapshot transfers wait for their answer; replicating members stream.
      do this.sendAppend(id);
      while (pr.state === 'replicate' && !pr.isPaused() && pr.next <= this.log.lastIndex());
    }
  }

  private startSnapshotTransfer(to: NodeId, pr: Progress): void {
    const snap = this.snapshot;
    invariant(snap !== null, `member ${to} needs entries before ${this.log.firstIndex()} but there is no snapshot`);
    pr.becomeSnapshot(snap.meta.index);
    this.sendSnapshotChunk(to, snap, 0);
  }

  private sendSnapshotChunk(to: NodeId, snap: Snapshot, offset: number): void {
    const end = Math.min(snap.data.length, offset + this.cfg.snapshotChunkBytes);
    this.send({
      type: 'snapshot',
      from: this.id,
      to,
      term: this.term,
      meta: snap.meta,
      offset,
      totalBytes: snap.data.length,
      chunk: snap.data.subarray(offset, end),
    });
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send({ type: 'timeoutNow', from: this.id, to, term: this.term });
  }

  private abortTransfer(): void {
    this.transferee = NONE;
    this.transferElapsed = 0;
  }

  private broadcastHeartbeat(): void {
    for (const [id, pr] of this.progress) {
      if (id === this.id) continue;
      this.sendHeartbeat(id, pr, this.readSeq);
      if (pr.state === 'snapshot') {
        // A transfer that made no progress since the last heartbeat lost a chunk: resend it.
        if (!pr.snapshotAckSinceHeartbeat && this.snapshot?.meta.index === pr.snapshotIndex) {
          this.sendSnapshotChunk(id, this.snapshot, pr.snapshotAckedBytes);
        }
        pr.snapshotAckSinceHeartbeat = false;
      }
    }
  }

  private sendHeartbeat(to: NodeId, pr: Progress, readSeq: number): void {
    const msg: HeartbeatMessage = {
      type: 'heartbeat',
      from: this.id,
      to,
      term: this.term,
      commit: Math.min(pr.match, this.log.committed),
      readSeq,
    };
    this.send(msg);
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const v of this.conf.voters) {
      if (v === this.id || this.progress.get(v)?.recentActive) active++;
    }
    return active >= majority(this.conf.voters.length);
  }

  // -------------------------------------------------------------------------------------------
  // ReadIndex
  // -------------------------------------------------------------------------------------------

  private handleReadRequest(context: string, from: NodeId): void {
    if (this.log.term(this.log.committed) !== this.term) {
      // Until an entry of this term commits, our commit index may be behind the previous leader's.
      this.answerRead({ seq: 0, index: 0, context, from }, true);
      return;
    }
    const read: PendingRead = { seq: ++this.readSeq, index: this.log.committed, context, from };
    const soleVoter = this.conf.voters.length === 1 && this.conf.voters[0] === this.id;
    if (soleVoter || this.cfg.plantedBugs?.readIndexWithoutQuorum) {
      this.answerRead(read, false);
      return;
    }
    this.pendingReads.push(read);
    for (const [id, pr] of this.progress) if (id !== this.id) this.sendHeartbeat(id, pr, read.seq);
  }

  private releaseConfirmedReads(): void {
    if (this.pendingReads.length === 0) return;
    const need = majority(this.conf.voters.length);
    let released = 0;
    for (const read of this.pendingReads) {
      let acks = 0;
      for (const v of this.conf.voters) {
        if (v === this.id || (this.progress.get(v)?.readAck ?? 0) >= read.seq) acks++;
      }
      if (acks < need) break;
      this.answerRead(read, false);
      released++;
    }
    if (released > 0) this.pendingReads.splice(0, released);
  }

  private answerRead(read: PendingRead, reject: boolean): void {
    const index = reject ? 0 : read.index;
    if (read.from === this.id) {
      this.readStates.push({ context: read.context, index, reject });
    } else {
      this.send({
        type: 'readIndexResp',
        from: this.id,
        to: read.from,
        term: this.term,
        context: read.context,
        index,
        reject,
      });
    }
  }

  private rejectPendingReads(): void {
    for (const read of this.pendingReads) this.answerRead(read, true);
    this.pendingReads = [];
  }

  // -------------------------------------------------------------------------------------------
  // Output
  // -------------------------------------------------------------------------------------------

  private send(m: Message): void {
    this.msgs.push(m);
  }

  private sendAfterPersist(m: Message): void {
    this.persistedMsgs.push(m);
  }

  private notLeader(): RaftError {
    return new RaftError('NOT_LEADER', `node ${this.id} is not the leader`, this.lead);
  }

  private flush(): void {
    if (this.broadcastPending && this.role === 'leader') this.broadcastAppend();
    this.broadcastPending = false;
    if (this.forwardQueue.length > 0) {
      const queued = this.forwardQueue;
      this.forwardQueue = [];
      if (this.lead === NONE || this.role === 'leader') {
        for (const q of queued) this.proposalAcks.push({ reqId: q.reqId, index: 0, term: this.term });
      } else {
        this.send({
          type: 'prop',
          from: this.id,
          to: this.lead,
          term: this.term,
          entries: queued.map((q) => ({ type: q.type, data: q.data })),
          reqIds: queued.map((q) => q.reqId),
        });
      }
    }
  }

  /**
   * Messages that may leave before anything is persisted (a leader's appends and heartbeats,
   * forwarded proposals). The driver may take these while a Ready is still being persisted, so that
   * followers write in parallel with the leader.
   */
  takeMessages(): Message[] {
    this.flush();
    const out = this.msgs;
    this.msgs = [];
    return out;
  }

  private hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  hasReady(): boolean {
    if (this.inFlight !== null) return false;
    return (
      this.broadcastPending ||
      this.forwardQueue.length > 0 ||
      this.msgs.length > 0 ||
      this.persistedMsgs.length > 0 ||
      this.readStates.length > 0 ||
      this.proposalAcks.length > 0 ||
      this.receivedSnapshot !== null ||
      this.log.persistingIndex < this.log.lastIndex() ||
      this.log.committed > this.applying ||
      !sameHard(this.prevHard, this.hardState()) ||
      this.prevSoft.role !== this.role ||
      this.prevSoft.leader !== this.lead
    );
  }

  ready(): Ready {
    invariant(this.inFlight === null, 'ready() called again before advance()');
    this.flush();
    const hard = this.hardState();
    const hardState = sameHard(this.prevHard, hard) ? null : hard;
    this.prevHard = hard;
    const soft: SoftState = { role: this.role, leader: this.lead };
    const softState = this.prevSoft.role === soft.role && this.prevSoft.leader === soft.leader ? null : soft;
    this.prevSoft = soft;

    const entries = this.log.unpersisted();
    this.log.persistingIndex = this.log.lastIndex();
    const snapshot = this.receivedSnapshot;
    this.receivedSnapshot = null;

    const applyTo = Math.min(this.log.committed, this.applying + this.cfg.maxCommittedPerReady);
    const committed = applyTo > this.applying ? this.log.slice(this.applying + 1, applyTo + 1) : [];
    this.applying = Math.max(this.applying, applyTo);

    const last = entries[entries.length - 1];
    this.inFlight = {
      lastEntry: last ? { index: last.index, term: last.term } : null,
      snapshotIndex: snapshot?.meta.index ?? 0,
      applyingTo: this.applying,
      committed,
    };
    const rd: Ready = {
      softState,
      hardState,
      snapshot,
      entries,
      messages: this.msgs,
      persistedMessages: this.persistedMsgs,
      committed,
      readStates: this.readStates,
      proposalAcks: this.proposalAcks,
    };
    this.msgs = [];
    this.persistedMsgs = [];
    this.readStates = [];
    this.proposalAcks = [];
    return rd;
  }

  advance(): void {
    const fl = this.inFlight;
    invariant(fl !== null, 'advance() without an outstanding ready()');
    this.inFlight = null;
    if (fl.snapshotIndex > 0) this.log.stableTo(fl.snapshotIndex, this.log.term(fl.snapshotIndex) ?? -1);
    if (fl.lastEntry) this.log.stableTo(fl.lastEntry.index, fl.lastEntry.term);
    this.applied = Math.max(this.applied, fl.applyingTo);
    for (const e of fl.committed) {
      if (e.type === 'conf' && e.index > this.confIndex) this.applyConf(decodeConfChange(e.data));
      if (e.index > this.confIndex) this.confIndex = e.index;
    }
    // The leader's own durable log counts toward the quorum only now.
    if (this.role === 'leader' && this.maybeCommit()) this.broadcastPending = true;
  }

  private applyConf(cc: ConfChange): void {
    this.conf = applyConfChange(this.conf, cc);
    if (this.role !== 'leader') return;
    if (!isMember(this.conf, this.id) || !this.conf.voters.includes(this.id)) {
      // Removed (or demoted): tell followers the commit index, then stand down.
      this.broadcastAppend();
      this.becomeFollower(this.term, NONE);
      return;
    }
    if (cc.type === 'removeNode') {
      this.progress.delete(cc.node);
      if (this.transferee === cc.node) this.abortTransfer();
    } else if (!this.progress.has(cc.node)) {
      const pr = new Progress(this.log.lastIndex() + 1, this.cfg.maxInflightMsgs);
      pr.recentActive = true;
      this.progress.set(cc.node, pr);
    }
    // A smaller quorum may commit more; a new member needs the log. Either way, broadcast.
    this.maybeCommit();
    this.broadcastPending = true;
  }

  // -------------------------------------------------------------------------------------------
  // Introspection
  // -------------------------------------------------------------------------------------------

  status(): RaftStatus {
    const progress: Record<NodeId, { match: number; next: number; state: Progress['state']; active: boolean }> = {};
    if (this.role === 'leader') {
      for (const [id, pr] of this.progress) {
        progress[id] = { match: pr.match, next: pr.next, state: pr.state, active: pr.recentActive };
      }
    }
    return {
      id: this.id,
      role: this.role,
      term: this.term,
      vote: this.vote,
      leader: this.lead,
      commit: this.log.committed,
      applied: this.applied,
      firstIndex: this.log.firstIndex(),
      lastIndex: this.log.lastIndex(),
      conf: this.conf,
      transferee: this.transferee,
      progress,
    };
  }

  /** The latest snapshot (taken or received), for the driver to serve or persist. */
  latestSnapshot(): Snapshot | null {
    return this.snapshot;
  }

  /** The entry at `index` if it is still in the log (tests and the simulation use this). */
  entryAt(index: number): Entry | undefined {
    return this.log.entry(index);
  }
}

/** The initial configuration as committed entries of term 0 at indexes 1..n (voters, then learners). */
function bootstrapEntries(conf: ConfState): Entry[] {
  const changes: ConfChange[] = [
    ...[...conf.voters].sort().map((node): ConfChange => ({ type: 'addVoter', node, context: '' })),
    ...[...conf.learners].sort().map((node): ConfChange => ({ type: 'addLearner', node, context: '' })),
  ];
  return changes.map((cc, i) => ({ term: 0, index: i + 1, type: 'conf', data: encodeConfChange(cc) }));
}

function invalidConf(message: string): RaftError {
  return new RaftError('CONF_CHANGE_INVALID', message);
}

function normalizeConf(conf: ConfState): ConfState {
  return { voters: [...conf.voters].sort(), learners: [...conf.learners].sort() };
}

function sameHard(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}
