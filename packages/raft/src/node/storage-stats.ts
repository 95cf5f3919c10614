/** One write of the node's durable state, as the 'persisted' event reports it. */
export interface PersistEvent {
  /** What was written: a Ready's hard state and entries, a snapshot the node took, or the address book. */
  readonly kind: 'ready' | 'snapshot' | 'members';
  /** Wall time of the write, fsync included when `synced`. */
  readonly ms: number;
  /** Whether the write was fsynced (a Ready that only moves the commit index is not). */
  readonly synced: boolean;
  /** Log entries written. */
  readonly entries: number;
}

/** Totals of the node's durable writes since it started, for status pages. */
export interface StorageStats {
  readonly writes: number;
  readonly syncedWrites: number;
  readonly entriesWritten: number;
  /** Sum and maximum of the synced writes' durations: the fsync latency the cluster waits on. */
  readonly syncMsTotal: number;
  readonly syncMsMax: number;
  readonly lastSyncMs: number;
}

export class StorageMeter {
  private writes = 0;
  private syncedWrites = 0;
  private entriesWritten = 0;
  private syncMsTotal = 0;
  private syncMsMax = 0;
  private lastSyncMs = 0;

  record(e: PersistEvent): void {
    this.writes++;
    this.entriesWritten += e.entries;
    if (!e.synced) return;
    this.syncedWrites++;
    this.syncMsTotal += e.ms;
    this.lastSyncMs = e.ms;
    if (e.ms > this.syncMsMax) this.syncMsMax = e.ms;
  }

  stats(): StorageStats {
    return {
      writes: this.writes,
      syncedWrites: this.syncedWrites,
      entriesWritten: this.entriesWritten,
      syncMsTotal: this.syncMsTotal,
      syncMsMax: this.syncMsMax,
      lastSyncMs: this.lastSyncMs,
    };
  }
}
