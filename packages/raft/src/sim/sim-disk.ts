import type { Entry, HardState, PersistedState, Snapshot } from '../core/types.js';

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

/**
 * A node's durable storage. Writes land whole or not at all (each models one synced write); what a
 * crash loses is decided by the node, which only calls `write` once a write's latency has passed.
 */
export class SimDisk {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snapshot: Snapshot | null = null;
  private entries: Entry[] = [];

  constructor(private readonly entriesMax: number) {}

  /** Step 2 of a Ready: the snapshot (which replaces the whole log), then hard state and entries. */
  write(snapshot: Snapshot | null, hardState: HardState | null, entries: readonly Entry[]): void {
    if (snapshot !== null) {
      this.snapshot = snapshot;
      this.entries = [];
    }
    if (hardState !== null) this.hardState = hardState;
    const first = entries[0];
    if (first !== undefined) {
      const offset = first.index - this.firstIndex();
      if (offset < 0 || offset > this.entries.length) {
        throw new Error(
          `disk write at ${first.index} does not fit the log [${this.firstIndex()}, ${this.lastIndex()}]`,
        );
      }
      this.entries.length = offset;
      for (const e of entries) this.entries.push(e);
      if (this.entries.length > this.entriesMax) {
        throw new Error(`disk log holds ${this.entries.length} entries, over its bound of ${this.entriesMax}`);
      }
    }
  }

  /** A snapshot the node took itself: keep it and delete the entries it covers. */
  compact(snapshot: Snapshot): void {
    const drop = snapshot.meta.index - (this.firstIndex() - 1);
    if (drop < 0) return;
    this.entries = this.entries.slice(Math.min(drop, this.entries.length));
    this.snapshot = snapshot;
  }

  firstIndex(): number {
    return (this.snapshot?.meta.index ?? 0) + 1;
  }

  lastIndex(): number {
    return this.firstIndex() - 1 + this.entries.length;
  }

  read(): PersistedState {
    return { hardState: this.hardState, snapshot: this.snapshot, entries: [...this.entries] };
  }
}
