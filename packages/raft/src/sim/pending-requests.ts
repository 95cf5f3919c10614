import type { Entry, ProposalAck, ProposeResult, ReadState } from '../core/types.js';
import type { KvCommand } from './kv-command.js';
import type { KvStateMachine } from './kv-state-machine.js';
import type { KvOutput } from './linearizability.js';

/** How a client request ended: answered, refused (it certainly did not happen), or unknown. */
export type RequestOutcome =
  | { readonly kind: 'ok'; readonly output: KvOutput }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly reason: string };

export type RequestCallback = (outcome: RequestOutcome) => void;

interface PendingWrite {
  readonly cmd: KvCommand;
  readonly done: RequestCallback;
  /** Where the proposal landed, once known: another entry applied there means it is lost (or elsewhere). */
  index: number;
  term: number;
}

interface PendingRead {
  readonly cmd: KvCommand;
  readonly done: RequestCallback;
  /** 0 until the ReadIndex answer arrives. */
  index: number;
}

function keyOf(cmd: KvCommand): string {
  return `${cmd.clientId}:${cmd.reqId}`;
}

/**
 * The client requests one node is answering: writes (and log reads) waiting to be applied here,
 * matched by the client and request id inside the command; ReadIndex reads waiting for their read
 * index and then for this node to apply up to it. Each callback runs exactly once.
 */
export class PendingRequests {
  private readonly writes = new Map<string, PendingWrite>();
  /** The core's request ids of forwarded proposals -> pending write key. */
  private readonly forwarded = new Map<number, string>();
  private readonly reads = new Map<string, PendingRead>();

  addWrite(cmd: KvCommand, done: RequestCallback, result: ProposeResult): void {
    const pending: PendingWrite = { cmd, done, index: 0, term: 0 };
    if (result.kind === 'appended') {
      pending.index = result.index;
      pending.term = result.term;
    } else {
      this.forwarded.set(result.reqId, keyOf(cmd));
    }
    this.writes.set(keyOf(cmd), pending);
  }

  /** A ReadIndex request; its context is the command's key. */
  addRead(cmd: KvCommand, done: RequestCallback): string {
    const context = keyOf(cmd);
    this.reads.set(context, { cmd, done, index: 0 });
    return context;
  }

  /** Forgets a request, without answering it. */
  abandon(cmd: KvCommand): void {
    const key = keyOf(cmd);
    this.writes.delete(key);
    this.reads.delete(key);
    for (const [reqId, k] of this.forwarded) if (k === key) this.forwarded.delete(reqId);
  }

  /** The leader's answers to forwarded proposals. */
  acked(acks: readonly ProposalAck[]): void {
    for (const ack of acks) {
      const key = this.forwarded.get(ack.reqId);
      if (key === undefined) continue;
      this.forwarded.delete(ack.reqId);
      const w = this.writes.get(key);
      if (w === undefined) continue;
      if (ack.index === 0) {
        // Dropped by the leader; a duplicate of the forwarded message may still have got in, so the
        // outcome is unknown rather than refused.
        this.finishWrite(w, { kind: 'unknown', reason: 'leader dropped the proposal' });
      } else {
        w.index = ack.index;
        w.term = ack.term;
      }
    }
  }

  readStates(states: readonly ReadState[]): void {
    for (const rs of states) {
      const r = this.reads.get(rs.context);
      if (r === undefined) continue;
      if (rs.reject) {
        this.reads.delete(rs.context);
        r.done({ kind: 'refused', reason: 'read index rejected' });
      } else {
        r.index = rs.index;
      }
    }
  }

  /** This node applied `e` (carrying `cmd`, which produced `output`; undefined for a stale duplicate). */
  applied(e: Entry, cmd: KvCommand | null, output: KvOutput | undefined): void {
    if (cmd !== null && output !== undefined) {
      const w = this.writes.get(keyOf(cmd));
      if (w !== undefined) this.finishWrite(w, { kind: 'ok', output });
    }
    for (const w of [...this.writes.values()]) {
      if (w.index === e.index && w.term !== e.term) this.finishWrite(w, { kind: 'unknown', reason: 'overwritten' });
    }
  }

  /**
   * This node restored a snapshot: requests whose entries it covers will never be applied here one
   * by one. Answer them from the session table, or give up on them.
   */
  restored(sm: KvStateMachine): void {
    for (const w of [...this.writes.values()]) {
      const output = sm.sessionOutput(w.cmd.clientId, w.cmd.reqId);
      if (output !== undefined) this.finishWrite(w, { kind: 'ok', output });
      else if (sm.sessionReqId(w.cmd.clientId) > w.cmd.reqId) {
        this.finishWrite(w, { kind: 'unknown', reason: 'covered by a snapshot' });
      }
    }
  }

  /** Answers the ReadIndex reads whose read index this node has applied. */
  serveReads(applied: number, sm: KvStateMachine): void {
    for (const [context, r] of this.reads) {
      if (r.index === 0 || r.index > applied) continue;
      this.reads.delete(context);
      const value = sm.get(r.cmd.input.key);
      r.done({ kind: 'ok', output: value === undefined ? { ok: true } : { ok: true, value } });
    }
  }

  /** Everything pending ends with an unknown outcome: the node can no longer answer. */
  failAll(reason: string): void {
    const pending = [...this.writes.values(), ...this.reads.values()];
    this.writes.clear();
    this.reads.clear();
    this.forwarded.clear();
    for (const p of pending) p.done({ kind: 'unknown', reason });
  }

  private finishWrite(w: PendingWrite, outcome: RequestOutcome): void {
    this.abandon(w.cmd);
    w.done(outcome);
  }
}
