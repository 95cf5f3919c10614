/**
 * Linearizable reads waiting on the ReadIndex protocol: first for the leader to confirm a read index,
 * then for this node to apply through it. A read the leader could not confirm yet (a new leader that
 * has not committed in its term, a leadership change) is retried on the next tick until its deadline:
 * reads are idempotent, so retrying is always safe.
 */
import { RaftError } from '../core/errors.js';
import type { ReadState } from '../core/types.js';
import type { Deferred } from './deferred.js';

export interface Waiting {
  readonly waiter: Deferred<number>;
  /** Why the last attempt failed, reported if the deadline passes. */
  lastError: RaftError | null;
}

export class ReadTracker {
  private nextSeq = 0;
  private readonly prefix: string;
  /** context -> read waiting for the leader's answer. */
  private readonly confirming = new Map<string, Waiting>();
  /** Reads to issue (again) on the next tick. */
  private retry: Waiting[] = [];
  /** Confirmed reads waiting for this node to apply through their index. */
  private applying: { index: number; waiter: Deferred<number> }[] = [];

  constructor(nodeId: string) {
    this.prefix = `${nodeId}:${Date.now().toString(36)}:`;
  }

  get size(): number {
    return this.confirming.size + this.retry.length + this.applying.length;
  }

  /** A fresh context for a read, registered as waiting for its answer. */
  issue(waiting: Waiting | Deferred<number>): string {
    const w: Waiting = 'waiter' in waiting ? waiting : { waiter: waiting, lastError: null };
    const context = this.prefix + (++this.nextSeq).toString(36);
    this.confirming.set(context, w);
    return context;
  }

  /** The attempt could not be made (e.g. no leader); try again next tick. */
  failedToIssue(context: string, err: RaftError): void {
    const w = this.confirming.get(context);
    if (w === undefined) return;
    this.confirming.delete(context);
    w.lastError = err;
    this.retry.push(w);
  }

  /** Reads to issue again now; the caller issues each through `issue`. */
  takeRetries(): Waiting[] {
    const out = this.retry;
    this.retry = [];
    return out;
  }

  answered(rs: ReadState, appliedIndex: number): void {
    const w = this.confirming.get(rs.context);
    if (w === undefined) return;
    this.confirming.delete(rs.context);
    if (rs.reject) {
      w.lastError = new RaftError(
        'READ_INDEX_NOT_READY',
        'the leader could not confirm the read yet (new leader or leadership change)',
      );
      this.retry.push(w);
    } else if (rs.index <= appliedIndex) {
      w.waiter.resolve(rs.index);
    } else {
      this.applying.push({ index: rs.index, waiter: w.waiter });
    }
  }

  applied(appliedIndex: number): void {
    if (this.applying.length === 0) return;
    const still: { index: number; waiter: Deferred<number> }[] = [];
    for (const a of this.applying) {
      if (a.index <= appliedIndex) a.waiter.resolve(a.index);
      else still.push(a);
    }
    this.applying = still;
  }

  expire(nowMs: number): void {
    const timedOut = (w: Waiting): boolean => {
      if (nowMs < w.waiter.deadlineMs) return false;
      w.waiter.reject(w.lastError ?? new RaftError('TIMEOUT', 'the linearizable read timed out'));
      return true;
    };
    for (const [context, w] of this.confirming) if (timedOut(w)) this.confirming.delete(context);
    this.retry = this.retry.filter((w) => !timedOut(w));
    this.applying = this.applying.filter((a) => !timedOut({ waiter: a.waiter, lastError: null }));
  }

  rejectAll(err: Error): void {
    for (const w of this.confirming.values()) w.waiter.reject(err);
    for (const w of this.retry) w.waiter.reject(err);
    for (const a of this.applying) a.waiter.reject(err);
    this.confirming.clear();
    this.retry = [];
    this.applying = [];
  }
}
