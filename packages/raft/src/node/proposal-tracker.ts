/**
 * Proposals waiting for their outcome. A proposal is identified by where it landed in the log,
 * (index, term): it succeeded exactly when the entry applied at that index has that term. A
 * follower's forwarded proposal first waits, by request id, for the leader to say where it landed.
 */
import { invariant, RaftError } from '../core/errors.js';
import type { ProposalAck } from '../core/types.js';
import type { Deferred } from './deferred.js';

export interface ProposalOutcome {
  readonly index: number;
  /** What the state machine's apply returned (for a conf change: the ConfChange). */
  readonly result: unknown;
}

interface Landed {
  readonly term: number;
  readonly waiter: Deferred<ProposalOutcome>;
}

/** Applied entries remembered for acks that arrive after their entry was applied. */
const RECENT_MAX = 4096;

export class ProposalTracker {
  private readonly byIndex = new Map<number, Landed>();
  private readonly byReqId = new Map<number, Deferred<ProposalOutcome>>();
  /** index -> { term, result } of recently applied entries, oldest first. */
  private readonly recent = new Map<number, { term: number; result: unknown }>();

  get size(): number {
    return this.byIndex.size + this.byReqId.size;
  }

  /** A proposal this node appended as leader at (index, term). */
  landed(index: number, term: number, waiter: Deferred<ProposalOutcome>): void {
    const previous = this.byIndex.get(index);
    if (previous !== undefined) {
      // Our log at `index` was replaced by an entry of a newer term: the older proposal is gone.
      invariant(previous.term !== term, `two proposals landed at the same index ${index} and term ${term}`);
      previous.waiter.reject(overwritten(index, previous.term, term));
    }
    this.byIndex.set(index, { term, waiter });
  }

  /** A proposal forwarded to the leader, waiting for its ack. */
  forwarded(reqId: number, waiter: Deferred<ProposalOutcome>): void {
    invariant(!this.byReqId.has(reqId), `request id ${reqId} reused`);
    this.byReqId.set(reqId, waiter);
  }

  /** The leader said where a forwarded proposal landed (index 0: dropped). */
  acked(ack: ProposalAck, appliedIndex: number): void {
    const waiter = this.byReqId.get(ack.reqId);
    if (waiter === undefined) return;
    this.byReqId.delete(ack.reqId);
    if (ack.index === 0) {
      waiter.reject(
        new RaftError(
          'PROPOSAL_DROPPED',
          'the leader dropped the forwarded proposal (leadership changing or overloaded); retry',
        ),
      );
      return;
    }
    if (ack.index > appliedIndex) {
      this.landed(ack.index, ack.term, waiter);
      return;
    }
    const applied = this.recent.get(ack.index);
    if (applied === undefined) {
      waiter.reject(unknownOutcome(`entry ${ack.index} was applied before the leader's acknowledgement arrived`));
    } else if (applied.term === ack.term) {
      waiter.resolve({ index: ack.index, result: applied.result });
    } else {
      waiter.reject(overwritten(ack.index, ack.term, applied.term));
    }
  }

  /** The entry at `index` of `term` was applied with `result`. */
  applied(index: number, term: number, result: unknown): void {
    this.recent.set(index, { term, result });
    if (this.recent.size > RECENT_MAX) this.recent.delete(this.recent.keys().next().value!);
    const landed = this.byIndex.get(index);
    if (landed === undefined) return;
    this.byIndex.delete(index);
    if (landed.term === term) landed.waiter.resolve({ index, result });
    else landed.waiter.reject(overwritten(index, landed.term, term));
  }

  /** A snapshot from the leader replaced the log through `index`: what landed there cannot be traced. */
  restored(index: number): void {
    this.recent.clear();
    for (const [i, landed] of this.byIndex) {
      if (i > index) continue;
      this.byIndex.delete(i);
      landed.waiter.reject(unknownOutcome(`a snapshot from the leader covered index ${i}`));
    }
  }

  expire(nowMs: number): void {
    const timedOut = (w: Deferred<ProposalOutcome>): boolean => {
      if (nowMs < w.deadlineMs) return false;
      w.reject(new RaftError('TIMEOUT', 'the proposal timed out; it may still commit'));
      return true;
    };
    for (const [index, landed] of this.byIndex) if (timedOut(landed.waiter)) this.byIndex.delete(index);
    for (const [reqId, waiter] of this.byReqId) if (timedOut(waiter)) this.byReqId.delete(reqId);
  }

  rejectAll(err: Error): void {
    for (const landed of this.byIndex.values()) landed.waiter.reject(err);
    for (const waiter of this.byReqId.values()) waiter.reject(err);
    this.byIndex.clear();
    this.byReqId.clear();
  }
}

function overwritten(index: number, proposedTerm: number, actualTerm: number): RaftError {
  return new RaftError(
    'PROPOSAL_DROPPED',
    `the proposal at index ${index} (term ${proposedTerm}) was overwritten by a leader of term ${actualTerm}; it did not commit`,
  );
}

function unknownOutcome(why: string): RaftError {
  return new RaftError('TIMEOUT', `the proposal's outcome is unknown: ${why}`);
}
