import { RaftError } from '../core/errors.js';
import { RaftCore } from '../core/raft.js';
import type { ConfChange, ConfState, Message, NodeId, RaftConfig, RaftStatus, Ready, Role } from '../core/types.js';
import type { EventQueue } from './event-queue.js';
import { entryKey, type SafetyChecker, SafetyViolation } from './invariants.js';
import { decodeCommand, encodeCommand, type KvCommand } from './kv-command.js';
import { KvStateMachine } from './kv-state-machine.js';
import { LogMirror } from './log-mirror.js';
import { PendingRequests, type RequestCallback } from './pending-requests.js';
import type { Prng } from './prng.js';
import { SimDisk } from './sim-disk.js';

export interface NodeEnv {
  readonly queue: EventQueue;
  readonly checker: SafetyChecker;
  readonly initialConf: ConfState;
  readonly diskMsMin: number;
  readonly diskMsMax: number;
  /** Take a snapshot (compact) once this many entries were applied since the last one. */
  readonly compactEveryEntries: number;
  readonly sessionsMax: number;
  readonly logEntriesMax: number;
  send(m: Message): void;
  config(id: NodeId): RaftConfig;
  /** Told when a node takes a Ready saying it now leads. */
  becameLeader(node: SimNode): void;
}

/** Messages only a leader sends: seeing one proves its sender led that term. */
const LEADER_ONLY: ReadonlySet<Message['type']> = new Set(['append', 'heartbeat', 'snapshot']);

/**
 * One simulated server: a Raft core, its disk, the key-value state machine, and the driver loop that
 * carries out each Ready in the documented order, with the disk write taking simulated time. A crash
 * loses the core, the state machine, and the write in flight; the disk keeps what completed.
 */
export class SimNode {
  private core: RaftCore | null = null;
  private sm: KvStateMachine;
  private applied = 0;
  private readonly disk: SimDisk;
  private log = new LogMirror();
  private term = 0;
  private commit = 0;
  private role: Role = 'follower';
  private inflight: Ready | null = null;
  /** Bumped by each crash, so that events scheduled by an earlier life are ignored. */
  private incarnation = 0;
  private lastCompactIndex = 0;
  private readonly requests = new PendingRequests();
  readonly stats = { readies: 0, applied: 0, snapshotsTaken: 0, snapshotsInstalled: 0, crashes: 0 };

  constructor(
    readonly id: NodeId,
    private readonly env: NodeEnv,
    private readonly diskRandom: Prng,
  ) {
    this.disk = new SimDisk(env.logEntriesMax);
    this.sm = new KvStateMachine(env.sessionsMax);
  }

  get up(): boolean {
    return this.core !== null;
  }

  get currentRole(): Role {
    return this.core === null ? 'follower' : this.role;
  }

  get currentTerm(): number {
    return this.term;
  }

  /** Builds the core from what is on disk: the first start and every restart. */
  start(): void {
    if (this.core !== null) throw new Error(`${this.id} is already running`);
    const persisted = this.disk.read();
    this.core = new RaftCore(this.env.config(this.id), persisted, this.env.initialConf);
    const snap = persisted.snapshot;
    this.sm =
      snap === null
        ? new KvStateMachine(this.env.sessionsMax)
        : KvStateMachine.restore(snap.data, this.env.sessionsMax);
    this.applied = snap?.meta.index ?? 0;
    this.lastCompactIndex = this.applied;
    this.log = LogMirror.of(snap?.meta.index ?? 0, snap?.meta.term ?? 0, persisted.entries);
    this.term = persisted.hardState.term;
    this.commit = Math.max(persisted.hardState.commit, this.applied);
    this.role = 'follower';
    this.pump();
  }

  crash(): void {
    if (this.core === null) return;
    this.core = null;
    this.inflight = null;
    this.incarnation++;
    this.stats.crashes++;
    if (this.role === 'leader') this.env.checker.steppedDown(this.id);
    this.role = 'follower';
    this.requests.failAll('node crashed');
  }

  tick(): void {
    if (this.core === null) return;
    this.core.tick();
    this.pump();
  }

  receive(m: Message): void {
    if (this.core === null) return;
    this.core.step(m);
    this.pump();
  }

  status(): RaftStatus | null {
    return this.core?.status() ?? null;
  }

  /** A write, or a read through the log. The callback runs exactly once. */
  submit(cmd: KvCommand, done: RequestCallback): void {
    if (this.core === null) {
      done({ kind: 'refused', reason: 'node down' });
      return;
    }
    let result: ReturnType<RaftCore['propose']>;
    try {
      result = this.core.propose(encodeCommand(cmd));
    } catch (err) {
      done({ kind: 'refused', reason: refusal(err) });
      return;
    }
    this.requests.addWrite(cmd, done, result);
    this.pump();
  }

  /** A read through ReadIndex, served from this node's state machine once it has applied the read index. */
  read(cmd: KvCommand, done: RequestCallback): void {
    if (this.core === null) {
      done({ kind: 'refused', reason: 'node down' });
      return;
    }
    const context = this.requests.addRead(cmd, done);
    try {
      this.core.readIndex(context);
    } catch (err) {
      this.requests.abandon(cmd);
      done({ kind: 'refused', reason: refusal(err) });
      return;
    }
    this.pump();
  }

  /** Forgets a request its client gave up on (the client records it as indeterminate). */
  abandon(cmd: KvCommand): void {
    this.requests.abandon(cmd);
  }

  /** Asks this node, if it leads, to hand leadership to `to`. Returns 'started' or why not. */
  transferLeadership(to: NodeId): string {
    if (this.core === null) return 'node down';
    try {
      this.core.transferLeadership(to);
    } catch (err) {
      return refusal(err);
    }
    this.pump();
    return 'started';
  }

  proposeConfChange(cc: ConfChange): string {
    if (this.core === null) return 'node down';
    try {
      this.core.proposeConfChange(cc);
    } catch (err) {
      return refusal(err);
    }
    this.pump();
    return 'proposed';
  }

  /**
   * Takes the next Ready if none is outstanding, and starts carrying it out. While one is being
   * persisted, sends what may leave before persistence (a leader's appends, forwarded proposals),
   * so that followers write in parallel with the leader.
   */
  private pump(): void {
    const core = this.core;
    if (core === null) return;
    if (this.inflight !== null) {
      for (const m of core.takeMessages()) this.sendChecked(m);
      return;
    }
    if (!core.hasReady()) return;
    const rd = core.ready();
    this.inflight = rd;
    this.stats.readies++;
    this.observe(core, rd);
    for (const m of rd.messages) this.sendChecked(m);
    this.requests.acked(rd.proposalAcks);
    this.requests.readStates(rd.readStates);
    this.requests.serveReads(this.applied, this.sm);
    const life = this.incarnation;
    const delayMs = this.diskRandom.between(this.env.diskMsMin, this.env.diskMsMax);
    this.env.queue.after(delayMs, `persist ${this.id}#${life}`, () => {
      if (this.incarnation === life) this.persisted(rd);
    });
  }

  /** Feeds the safety checker what this Ready changes in the core's log, commit index and role. */
  private observe(core: RaftCore, rd: Ready): void {
    const checker = this.env.checker;
    if (rd.hardState !== null) this.term = rd.hardState.term;
    if (rd.snapshot !== null) {
      const { index, term } = rd.snapshot.meta;
      if (index <= this.commit && this.log.term(index) !== term && index > this.log.snapIndex) {
        throw new SafetyViolation('snapshot-mismatch', `${this.id} gets snapshot ${index}/${term} over committed log`);
      }
      this.log.reset(index, term);
      this.commit = Math.max(this.commit, index);
    }
    if (rd.entries.length > 0) {
      checker.entriesWritten(this.id, this.term, this.commit, this.log, rd.entries);
      this.log.write(rd.entries);
    }
    this.checkMirror(core);
    if (rd.hardState !== null && rd.hardState.commit !== this.commit) {
      checker.commitAdvanced(this.id, this.term, this.commit, rd.hardState.commit, this.log);
      this.commit = rd.hardState.commit;
    }
    if (rd.softState !== null && rd.softState.role !== this.role) {
      if (this.role === 'leader') checker.steppedDown(this.id);
      this.role = rd.softState.role;
      if (this.role === 'leader') {
        checker.becameLeader(this.id, this.term, this.log);
        this.env.becameLeader(this);
      }
    }
  }

  /**
   * Right after ready(), the core has reported every change to its log, so its last entry must be
   * the mirror's: the harness's view (which the safety checks read) is the core's real log.
   */
  private checkMirror(core: RaftCore): void {
    const last = this.log.lastIndex();
    const mine = this.log.entry(last);
    const theirs = core.entryAt(last);
    const agree =
      core.entryAt(last + 1) === undefined &&
      (mine === undefined ? last === this.log.snapIndex : theirs !== undefined && entryKey(theirs) === entryKey(mine));
    if (!agree) {
      throw new SafetyViolation(
        'core-contract',
        `${this.id}'s log changed at or after ${last} without a Ready saying so`,
      );
    }
  }

  private sendChecked(m: Message): void {
    if (m.from !== this.id) throw new SafetyViolation('core-contract', `${this.id} sends a message from ${m.from}`);
    if (LEADER_ONLY.has(m.type)) this.env.checker.leaderSeen(m.from, m.term);
    this.env.send(m);
  }

  /** Steps 2-5 of the Ready, once the disk write has completed. */
  private persisted(rd: Ready): void {
    const core = this.core!;
    this.disk.write(rd.snapshot, rd.hardState, rd.entries);
    for (const m of rd.persistedMessages) this.sendChecked(m);
    if (rd.snapshot !== null) this.restore(rd);
    for (const e of rd.committed) this.apply(e);
    this.inflight = null;
    core.advance();
    this.maybeCompact(core);
    this.requests.serveReads(this.applied, this.sm);
    this.pump();
  }

  private restore(rd: Ready): void {
    const snap = rd.snapshot!;
    this.sm = KvStateMachine.restore(snap.data, this.env.sessionsMax);
    this.applied = snap.meta.index;
    this.lastCompactIndex = snap.meta.index;
    this.stats.snapshotsInstalled++;
    this.env.checker.snapshotInstalled(this.id, snap.meta.index, snap.meta.term, this.sm.fingerprint());
    this.requests.restored(this.sm);
  }

  private apply(e: Ready['committed'][number]): void {
    if (e.index !== this.applied + 1) {
      throw new SafetyViolation(
        'core-contract',
        `${this.id} is handed entry ${e.index} to apply after ${this.applied}`,
      );
    }
    this.applied = e.index;
    this.stats.applied++;
    const cmd = e.type === 'normal' && e.data.length > 0 ? decodeCommand(e.data) : null;
    const output = cmd === null ? undefined : this.sm.apply(cmd).output;
    this.env.checker.entryApplied(this.id, e, this.sm.fingerprint());
    this.requests.applied(e, cmd, output);
  }

  private maybeCompact(core: RaftCore): void {
    if (this.applied - this.lastCompactIndex < this.env.compactEveryEntries) return;
    // A snapshot received from the leader may already be past what is applied here; it will be
    // restored with the next Ready, and there is nothing to compact until then.
    if (this.applied <= (core.latestSnapshot()?.meta.index ?? 0)) return;
    const snap = core.compact(this.applied, this.sm.snapshot());
    if (snap.meta.index !== this.applied || snap.meta.term !== this.log.term(this.applied)) {
      throw new SafetyViolation(
        'core-contract',
        `${this.id} compacts at ${this.applied} (term ${this.log.term(this.applied)}) and gets a snapshot of ${snap.meta.index}/${snap.meta.term}`,
      );
    }
    this.disk.compact(snap);
    this.log.compact(snap.meta.index, snap.meta.term);
    this.lastCompactIndex = this.applied;
    this.stats.snapshotsTaken++;
  }
}

/** The node that leads the highest term among those that think they lead, if any. */
export function leaderAmong(nodes: readonly SimNode[]): SimNode | undefined {
  let best: SimNode | undefined;
  for (const n of nodes) {
    if (n.up && n.currentRole === 'leader' && (best === undefined || n.currentTerm > best.currentTerm)) best = n;
  }
  return best;
}

/** The reason a core refused a request; anything but a RaftError refusal is a bug and propagates. */
function refusal(err: unknown): string {
  if (err instanceof RaftError && err.code !== 'INVARIANT') return err.code;
  throw err;
}
