import { invariant } from './errors.js';
import type { Entry } from './types.js';

/** What an entry costs on the wire besides its data (index, term, type, length), for message bounds. */
export const ENTRY_OVERHEAD_BYTES = 24;

/**
 * The log as the core sees it: a snapshot boundary (index and term of the last compacted entry)
 * followed by the entries after it, all in memory. What part of it is durable is tracked by
 * `stableIndex`; what was handed to the driver for persisting but not yet acknowledged by
 * `persistingIndex`.
 */
export class RaftLog {
  private entries: Entry[] = [];
  /** Index and term of the last entry covered by the snapshot (0/0 with none). */
  snapshotIndex = 0;
  snapshotTerm = 0;
  committed = 0;
  /** Highest index known to be durable and still part of this log. */
  stableIndex = 0;
  /** Highest index handed to the driver for persisting. */
  persistingIndex = 0;

  constructor(snapshotIndex: number, snapshotTerm: number, entries: readonly Entry[], committed: number) {
    this.snapshotIndex = snapshotIndex;
    this.snapshotTerm = snapshotTerm;
    for (const [i, e] of entries.entries()) {
      invariant(e.index === snapshotIndex + 1 + i, 'persisted entries must follow the snapshot contiguously');
    }
    this.entries = [...entries];
    this.stableIndex = this.lastIndex();
    this.persistingIndex = this.stableIndex;
    this.committed = Math.max(committed, snapshotIndex);
  }

  firstIndex(): number {
    return this.snapshotIndex + 1;
  }

  lastIndex(): number {
    return this.snapshotIndex + this.entries.length;
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** The term of the entry at `index`, or undefined if it is compacted away or not there yet. */
  term(index: number): number | undefined {
    if (index === this.snapshotIndex) return this.snapshotTerm;
    if (index < this.snapshotIndex || index > this.lastIndex()) return undefined;
    return this.entries[index - this.snapshotIndex - 1]?.term;
  }

  entry(index: number): Entry | undefined {
    if (index <= this.snapshotIndex) return undefined;
    return this.entries[index - this.snapshotIndex - 1];
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Raft's election restriction: is a log ending at (lastIndex, lastTerm) at least as up to date as ours? */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries in [lo, hi), at most `maxBytes` (data plus a fixed per-entry overhead) but always at least one. */
  slice(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    invariant(lo > this.snapshotIndex, 'slice below the compaction point');
    const end = Math.min(hi, this.lastIndex() + 1);
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < end; i++) {
      const e = this.entries[i - this.snapshotIndex - 1]!;
      bytes += e.data.length + ENTRY_OVERHEAD_BYTES;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  append(entries: readonly Entry[]): void {
    for (const e of entries) {
      invariant(e.index === this.lastIndex() + 1, `append at ${e.index} leaves a gap after ${this.lastIndex()}`);
      this.entries.push(e);
    }
  }

  /**
   * Appends a leader's entries after (prevIndex, prevTerm), which must already match. Entries already
   * present with the same term are kept; the first conflicting one and everything after are replaced.
   * Returns the index of the last new entry.
   */
  maybeAppend(entries: readonly Entry[]): number {
    for (const e of entries) {
      const existing = this.term(e.index);
      if (existing === e.term) continue;
      if (existing !== undefined) {
        invariant(e.index > this.committed, `conflict at committed index ${e.index}`);
        this.truncateFrom(e.index);
      }
      this.append(entries.slice(entries.indexOf(e)));
      break;
    }
    const last = entries[entries.length - 1];
    return last === undefined ? 0 : last.index;
  }

  private truncateFrom(index: number): void {
    invariant(index > this.snapshotIndex, 'cannot truncate into the snapshot');
    this.entries.length = index - this.snapshotIndex - 1;
    this.stableIndex = Math.min(this.stableIndex, index - 1);
    this.persistingIndex = Math.min(this.persistingIndex, index - 1);
  }

  commitTo(index: number): boolean {
    if (index <= this.committed) return false;
    invariant(index <= this.lastIndex(), `commit ${index} is beyond the last index ${this.lastIndex()}`);
    this.committed = index;
    return true;
  }

  /** Entries not yet handed to the driver for persisting. */
  unpersisted(): Entry[] {
    if (this.persistingIndex >= this.lastIndex()) return [];
    return this.entries.slice(this.persistingIndex - this.snapshotIndex);
  }

  /** The driver made entries through (index, term) durable; ignored if the log changed under it. */
  stableTo(index: number, term: number): void {
    if (index > this.stableIndex && this.term(index) === term) this.stableIndex = index;
  }

  /** Drops entries through `index` (now covered by a snapshot the node took). */
  compactTo(index: number): void {
    invariant(index > this.snapshotIndex && index <= this.lastIndex(), `cannot compact to ${index}`);
    const term = this.term(index)!;
    this.entries = this.entries.slice(index - this.snapshotIndex);
    this.snapshotIndex = index;
    this.snapshotTerm = term;
  }

  /** Replaces the whole log by a snapshot received from the leader. */
  restore(index: number, term: number): void {
    this.entries = [];
    this.snapshotIndex = index;
    this.snapshotTerm = term;
    this.committed = index;
    // Durable only once the driver persists the snapshot, which the next Ready carries together
    // with any entries appended after it.
    this.stableIndex = Math.min(this.stableIndex, index);
    this.persistingIndex = index;
  }

  bytesBetween(lo: number, hi: number): number {
    let bytes = 0;
    for (let i = Math.max(lo, this.snapshotIndex + 1); i <= Math.min(hi, this.lastIndex()); i++) {
      bytes += this.entries[i - this.snapshotIndex - 1]!.data.length;
    }
    return bytes;
  }
}
