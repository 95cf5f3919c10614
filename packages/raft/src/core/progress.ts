import { invariant } from './errors.js';
import type { ProgressState } from './types.js';

/**
 * A bounded window of append messages in flight to one follower, each remembered by the last index
 * it carried. The window frees from the front as acknowledgements arrive.
 */
export class Inflights {
  private readonly lastIndexes: number[] = [];

  constructor(readonly capacity: number) {
    invariant(capacity > 0, 'inflight capacity must be positive');
  }

  get count(): number {
    return this.lastIndexes.length;
  }

  full(): boolean {
    return this.lastIndexes.length >= this.capacity;
  }

  add(lastIndex: number): void {
    invariant(!this.full(), 'inflight window overflow');
    const tail = this.lastIndexes[this.lastIndexes.length - 1];
    invariant(tail === undefined || lastIndex >= tail, 'inflight indexes must not go backwards');
    this.lastIndexes.push(lastIndex);
  }

  /** Frees every message whose entries are all acknowledged by `index`. */
  freeLE(index: number): void {
    let n = 0;
    while (n < this.lastIndexes.length && (this.lastIndexes[n] ?? 0) <= index) n++;
    if (n > 0) this.lastIndexes.splice(0, n);
  }

  reset(): void {
    this.lastIndexes.length = 0;
  }
}

/**
 * The leader's view of one member's log. In `probe` it sends one append per heartbeat until it finds
 * where the logs match; in `replicate` it streams appends optimistically within the inflight window;
 * in `snapshot` it sends an InstallSnapshot and waits.
 */
export class Progress {
  state: ProgressState = 'probe';
  match = 0;
  next: number;
  /** In probe: an append is outstanding; wait for its answer or the next heartbeat. */
  probeSent = false;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** The newest ReadIndex round this member has confirmed. */
  readAck = 0;
  readonly inflights: Inflights;
  /** In snapshot: the index of the snapshot being sent, and how far the member has acknowledged it. */
  snapshotIndex = 0;
  snapshotAckedBytes = 0;
  /** In snapshot: an acknowledgement arrived since the last heartbeat (otherwise the chunk is resent). */
  snapshotAckSinceHeartbeat = false;

  constructor(next: number, maxInflight: number) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  becomeProbe(): void {
    // Coming back from a snapshot, the member has at least the snapshot: probe right after it.
    const from = this.state === 'snapshot' ? Math.max(this.match + 1, this.snapshotIndex + 1) : this.match + 1;
    this.reset('probe');
    this.next = from;
  }

  becomeReplicate(): void {
    this.reset('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.reset('snapshot');
    this.snapshotIndex = snapshotIndex;
  }

  private reset(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.snapshotIndex = 0;
    this.snapshotAckedBytes = 0;
    this.snapshotAckSinceHeartbeat = false;
    this.inflights.reset();
  }

  /** Records an acknowledgement up to `index`. Returns false for a stale one. */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records that an append up to `lastIndex` was sent. */
  sentEntries(lastIndex: number, entryCount: number): void {
    if (this.state === 'replicate') {
      if (entryCount > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * Handles a rejected append for `rejected` (its prevIndex), with the member's last index as a hint.
   * Returns false when the rejection is stale (answers an append this progress has moved past).
   */
  maybeDecrTo(rejected: number, lastIndexHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, lastIndexHint + 1), this.match + 1, 1);
    this.probeSent = false;
    return true;
  }

  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
