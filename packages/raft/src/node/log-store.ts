/**
 * The node's durable state in one LevelDB (classic-level) directory: hard state, the latest
 * snapshot (data split over chunk records), the log entries after it, the member address book and
 * the configuration the cluster was bootstrapped with.
 *
 * Every write is one atomic batch, synced (`sync: true`) unless it only moves the commit index: after
 * a crash the store holds either all of a Ready's state or none of it, and what `save` resolved is on
 * disk. The store tracks which entry indexes it holds, so truncation and compaction delete exactly
 * the stale keys inside that batch.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { invariant, RaftError } from '../core/errors.js';
import type { ConfState, Entry, HardState, NodeId, PersistedState, Snapshot } from '../core/types.js';
import {
  decodeConfState,
  decodeEntry,
  decodeHardState,
  decodeMembers,
  decodeSnapshotHeader,
  encodeConfState,
  encodeEntry,
  encodeHardState,
  encodeMembers,
  encodeSnapshotHeader,
} from './codec.js';

/** Everything `load` returns: Raft's persisted state plus the node's own records. */
export interface StoredState extends PersistedState {
  /** The address book: member id -> "host:port". */
  readonly members: Map<NodeId, string>;
  /** The configuration this data directory was first started with; null before the first start. */
  readonly bootstrap: ConfState | null;
}

export interface SaveRequest {
  readonly hardState: HardState | null;
  /** Contiguous; entries at or above entries[0].index that are stored already are replaced. */
  readonly entries: readonly Entry[];
  /**
   * A snapshot received from the leader. It replaces the whole stored log (the core discarded its
   * log for it), so every stored entry is deleted in the same batch; `entries` then follow it.
   */
  readonly snapshot: Snapshot | null;
}

export interface LogStoreOptions {
  /** Bytes of snapshot data per stored record (LevelDB handles moderate values best). */
  readonly snapshotChunkBytes?: number;
}

type Op = { type: 'put'; key: Uint8Array; value: Uint8Array } | { type: 'del'; key: Uint8Array };

// One-byte key prefixes; entry and chunk keys append a big-endian number so they sort numerically.
const KEY_HARD_STATE = Uint8Array.of(0x01);
const KEY_SNAPSHOT_HEADER = Uint8Array.of(0x02);
const PREFIX_SNAPSHOT_CHUNK = 0x03;
const KEY_MEMBERS = Uint8Array.of(0x04);
const KEY_BOOTSTRAP = Uint8Array.of(0x05);
const PREFIX_ENTRY = 0x10;

const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

function entryKey(index: number): Uint8Array {
  const key = new Uint8Array(9);
  const view = new DataView(key.buffer);
  key[0] = PREFIX_ENTRY;
  view.setUint32(1, Math.floor(index / 0x1_0000_0000));
  view.setUint32(5, index % 0x1_0000_0000);
  return key;
}

function entryIndexOfKey(key: Uint8Array): number {
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength);
  return view.getUint32(1) * 0x1_0000_0000 + view.getUint32(5);
}

function chunkKey(chunk: number): Uint8Array {
  const key = new Uint8Array(5);
  key[0] = PREFIX_SNAPSHOT_CHUNK;
  new DataView(key.buffer).setUint32(1, chunk);
  return key;
}

function storageError(dir: string, message: string, cause?: unknown): RaftError {
  const err = new RaftError('STORAGE', `raft storage ${dir}: ${message}`);
  if (cause !== undefined) Object.defineProperty(err, 'cause', { value: cause, enumerable: false });
  return err;
}

export class LogStore {
  readonly dir: string;
  private readonly db: ClassicLevel<Uint8Array, Uint8Array>;
  private readonly chunkBytes: number;
  private loaded = false;
  private closed = false;
  /** Stored entries are exactly [firstIndex, lastIndex]; empty when lastIndex < firstIndex. */
  private firstIndex = 1;
  private lastIndex = 0;
  private snapshotIndex = 0;
  private snapshotChunkCount = 0;
  /** The last hard state written, to tell a commit-only change from a term or vote change. */
  private hardState: HardState = EMPTY_HARD_STATE;

  private constructor(dir: string, db: ClassicLevel<Uint8Array, Uint8Array>, chunkBytes: number) {
    this.dir = dir;
    this.db = db;
    this.chunkBytes = chunkBytes;
  }

  /** Opens (creating if needed) the store in `dir`. Fails with RaftError 'LOCKED' if it is open elsewhere. */
  static async open(dir: string, options: LogStoreOptions = {}): Promise<LogStore> {
    const chunkBytes = options.snapshotChunkBytes ?? DEFAULT_SNAPSHOT_CHUNK_BYTES;
    invariant(Number.isSafeInteger(chunkBytes) && chunkBytes > 0, `snapshotChunkBytes must be positive: ${chunkBytes}`);
    await mkdir(dir, { recursive: true });
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      if (isLockedError(err)) {
        const locked = new RaftError(
          'LOCKED',
          `raft data directory ${dir} is locked: another process (or another node in this process) has it open`,
        );
        Object.defineProperty(locked, 'cause', { value: err, enumerable: false });
        throw locked;
      }
      throw storageError(dir, 'cannot open the database', err);
    }
    return new LogStore(dir, db, chunkBytes);
  }

  /** Reads and validates everything. Must be called once, before the first write. */
  async load(): Promise<StoredState> {
    this.assertOpen();
    invariant(!this.loaded, 'LogStore.load called twice');
    const hardState = await this.readRecord(KEY_HARD_STATE, 'hard state', decodeHardState);
    const members = await this.readRecord(KEY_MEMBERS, 'members', decodeMembers);
    const bootstrap = await this.readRecord(KEY_BOOTSTRAP, 'bootstrap configuration', decodeConfState);
    const snapshot = await this.loadSnapshot();
    const entries = await this.loadEntries(snapshot);

    const state: StoredState = {
      hardState: hardState ?? EMPTY_HARD_STATE,
      snapshot,
      entries,
      members: members ?? new Map(),
      bootstrap,
    };
    const lastIndex = entries.at(-1)?.index ?? snapshot?.meta.index ?? 0;
    if (state.hardState.commit > lastIndex) {
      throw storageError(this.dir, `commit ${state.hardState.commit} is past the last stored index ${lastIndex}`);
    }
    this.hardState = state.hardState;
    this.snapshotIndex = snapshot?.meta.index ?? 0;
    this.firstIndex = entries[0]?.index ?? this.snapshotIndex + 1;
    this.lastIndex = entries.at(-1)?.index ?? this.snapshotIndex;
    this.loaded = true;
    return state;
  }

  /** Persists one Ready's state in a single synced batch (see SaveRequest). */
  async save(request: SaveRequest): Promise<void> {
    this.assertWritable();
    const ops: Op[] = [];
    let next = { first: this.firstIndex, last: this.lastIndex, snapshotIndex: this.snapshotIndex };
    let chunkCount = this.snapshotChunkCount;
    if (request.snapshot !== null) {
      chunkCount = this.snapshotOps(request.snapshot, ops);
      next = this.replaceLogOps(request.snapshot.meta.index, ops);
    }
    if (request.entries.length > 0) next = this.appendOps(request.entries, next, ops);
    const hard = request.hardState;
    if (hard !== null) ops.push({ type: 'put', key: KEY_HARD_STATE, value: encodeHardState(hard) });
    if (ops.length === 0) return;
    // As etcd's MustSync: a write that changes only the commit index needs no fsync. A commit index
    // lost to a power failure is learned again from the leader (and never drops below the snapshot),
    // while LevelDB's log keeps writes in order, so it cannot outlive the entries it points into.
    const commitOnly =
      request.snapshot === null &&
      request.entries.length === 0 &&
      hard !== null &&
      hard.term === this.hardState.term &&
      hard.vote === this.hardState.vote;
    await this.write(ops, !commitOnly);
    if (hard !== null) this.hardState = hard;
    this.firstIndex = next.first;
    this.lastIndex = next.last;
    this.snapshotIndex = next.snapshotIndex;
    this.snapshotChunkCount = chunkCount;
  }

  /**
   * Persists a snapshot the node took of its own state machine and deletes the entries it covers
   * (the entries after it stay), in one synced batch.
   */
  async compact(snapshot: Snapshot): Promise<void> {
    this.assertWritable();
    const index = snapshot.meta.index;
    invariant(index <= this.lastIndex, `compaction at ${index} is past the last stored entry ${this.lastIndex}`);
    const ops: Op[] = [];
    const chunkCount = this.snapshotOps(snapshot, ops);
    await this.write(ops);
    this.firstIndex = Math.max(this.firstIndex, index + 1);
    this.snapshotIndex = index;
    this.snapshotChunkCount = chunkCount;
    // The covered entries go in one native range delete rather than one batch op each. It need not
    // be synced: entries at or below the snapshot are skipped on load and deleted again next time.
    try {
      await this.db.clear({ gte: entryKey(0), lte: entryKey(index) });
    } catch (err) {
      throw storageError(this.dir, 'deleting compacted entries failed', err);
    }
  }

  /** Replaces the member address book. */
  async saveMembers(members: ReadonlyMap<NodeId, string>): Promise<void> {
    this.assertWritable();
    await this.write([{ type: 'put', key: KEY_MEMBERS, value: encodeMembers(members) }]);
  }

  /** Records the configuration this directory was bootstrapped with (first start only). */
  async saveBootstrap(conf: ConfState): Promise<void> {
    this.assertWritable();
    await this.write([{ type: 'put', key: KEY_BOOTSTRAP, value: encodeConfState(conf) }]);
  }

  /** The stored entry range and snapshot index, for status and tests. */
  bounds(): { firstIndex: number; lastIndex: number; snapshotIndex: number } {
    return { firstIndex: this.firstIndex, lastIndex: this.lastIndex, snapshotIndex: this.snapshotIndex };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  // -------------------------------------------------------------------------------------------

  /** Adds the snapshot's records (header, chunks, stale chunks deleted); returns its chunk count. */
  private snapshotOps(snapshot: Snapshot, ops: Op[]): number {
    invariant(
      snapshot.meta.index >= this.snapshotIndex,
      `snapshot at ${snapshot.meta.index} would replace the newer stored snapshot at ${this.snapshotIndex}`,
    );
    const data = snapshot.data;
    const chunkCount = Math.ceil(data.byteLength / this.chunkBytes);
    for (let i = 0; i < chunkCount; i++) {
      const value = data.subarray(i * this.chunkBytes, Math.min(data.byteLength, (i + 1) * this.chunkBytes));
      ops.push({ type: 'put', key: chunkKey(i), value });
    }
    for (let i = chunkCount; i < this.snapshotChunkCount; i++) ops.push({ type: 'del', key: chunkKey(i) });
    const header = encodeSnapshotHeader({ meta: snapshot.meta, dataBytes: data.byteLength, chunkCount });
    ops.push({ type: 'put', key: KEY_SNAPSHOT_HEADER, value: header });
    return chunkCount;
  }

  /** Deletes every stored entry: a snapshot from the leader replaces the whole log (see Ready). */
  private replaceLogOps(snapshotIndex: number, ops: Op[]): { first: number; last: number; snapshotIndex: number } {
    for (let i = this.firstIndex; i <= this.lastIndex; i++) ops.push({ type: 'del', key: entryKey(i) });
    return { first: snapshotIndex + 1, last: snapshotIndex, snapshotIndex };
  }

  /** Writes `entries`, deleting stored entries past their end that they replace (a conflicting suffix). */
  private appendOps(
    entries: readonly Entry[],
    current: { first: number; last: number; snapshotIndex: number },
    ops: Op[],
  ): { first: number; last: number; snapshotIndex: number } {
    const first = entries[0]!.index;
    const last = entries.at(-1)!.index;
    invariant(first > current.snapshotIndex, `entry ${first} is at or below the snapshot at ${current.snapshotIndex}`);
    invariant(first <= current.last + 1, `entry ${first} leaves a gap after the last stored entry ${current.last}`);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      invariant(e.index === first + i, `entries are not contiguous: ${e.index} follows ${first + i - 1}`);
      ops.push({ type: 'put', key: entryKey(e.index), value: encodeEntry(e) });
    }
    for (let i = last + 1; i <= current.last; i++) ops.push({ type: 'del', key: entryKey(i) });
    const newFirst = current.last < current.first ? first : Math.min(current.first, first);
    return { first: newFirst, last, snapshotIndex: current.snapshotIndex };
  }

  private async write(ops: Op[], sync = true): Promise<void> {
    try {
      await this.db.batch(ops, { sync });
    } catch (err) {
      throw storageError(this.dir, 'a write failed', err);
    }
  }

  private async loadSnapshot(): Promise<Snapshot | null> {
    const header = await this.readRecord(KEY_SNAPSHOT_HEADER, 'snapshot header', decodeSnapshotHeader);
    if (header === null) return null;
    const data = new Uint8Array(header.dataBytes);
    let offset = 0;
    for (let i = 0; i < header.chunkCount; i++) {
      const chunk = await this.db.get(chunkKey(i));
      if (chunk === undefined) throw storageError(this.dir, `snapshot chunk ${i} of ${header.chunkCount} is missing`);
      if (offset + chunk.byteLength > data.byteLength) {
        throw storageError(this.dir, `snapshot chunks exceed the ${header.dataBytes} bytes the header records`);
      }
      data.set(chunk, offset);
      offset += chunk.byteLength;
    }
    if (offset !== header.dataBytes) {
      throw storageError(this.dir, `snapshot chunks hold ${offset} bytes, the header records ${header.dataBytes}`);
    }
    this.snapshotChunkCount = header.chunkCount;
    return { meta: header.meta, data };
  }

  private async loadEntries(snapshot: Snapshot | null): Promise<Entry[]> {
    const entries: Entry[] = [];
    const expectedFirst = (snapshot?.meta.index ?? 0) + 1;
    // Entries the snapshot covers may survive a crash between compaction's two writes: skip them.
    const range = { gte: entryKey(expectedFirst), lte: entryKey(Number.MAX_SAFE_INTEGER) };
    for await (const [key, value] of this.db.iterator(range)) {
      const index = entryIndexOfKey(key);
      const expected = entries.length === 0 ? expectedFirst : entries.at(-1)!.index + 1;
      if (index !== expected) throw storageError(this.dir, `log entry ${index} found where ${expected} was expected`);
      let entry: Entry;
      try {
        entry = decodeEntry(value);
      } catch (err) {
        throw storageError(this.dir, `log entry ${index} is corrupt: ${(err as Error).message}`, err);
      }
      if (entry.index !== index)
        throw storageError(this.dir, `log entry under key ${index} claims index ${entry.index}`);
      entries.push(entry);
    }
    return entries;
  }

  private async readRecord<T>(key: Uint8Array, what: string, decode: (bytes: Uint8Array) => T): Promise<T | null> {
    const bytes = await this.db.get(key);
    if (bytes === undefined) return null;
    try {
      return decode(bytes);
    } catch (err) {
      throw storageError(this.dir, `the ${what} record is corrupt: ${(err as Error).message}`, err);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new RaftError('CLOSED', `raft storage ${this.dir} is closed`);
  }

  private assertWritable(): void {
    this.assertOpen();
    invariant(this.loaded, 'LogStore written before load()');
  }
}

function isLockedError(err: unknown): boolean {
  const code = (e: unknown): unknown => (e as { code?: unknown } | null)?.code;
  return code(err) === 'LEVEL_LOCKED' || code((err as { cause?: unknown } | null)?.cause) === 'LEVEL_LOCKED';
}
