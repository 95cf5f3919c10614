/**
 * The node's durable state in one LevelDB (classic-level) directory: hard state, the latest
 * snapshot (data split over chunk records), the log entries after it, the member address book and
 * the configuration the cluster was bootstrapped with.
 *
 * Every write is one atomic batch, synced (`sync: true`) unless it only moves the commit index: after
 * a crash the store holds either all of a Ready's state or none of it, and what `save` resolved is on
 * disk. The entries of one Ready are one record (a block, keyed by its first index): LevelDB's cost
 * is per record, and a busy leader appends dozens of entries per Ready. The store tracks its blocks,
 * so truncation and compaction delete (or cut short) exactly the stale ones inside that batch.
 * Directories written before blocks hold one record per entry; those are read and replaced in turn.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { invariant, RaftError } from '../core/errors.js';
import type { ConfState, Entry, HardState, NodeId, PersistedState, Snapshot } from '../core/types.js';
import {
  decodeConfState,
  decodeEntry,
  decodeEntryBlock,
  decodeHardState,
  decodeMembers,
  decodeSnapshotHeader,
  encodeConfState,
  encodeEntryBlock,
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

/** A stored record of contiguous entries [first, last]: a block, or one entry in the old layout. */
interface StoredRecord {
  readonly first: number;
  readonly last: number;
  readonly key: Uint8Array;
}

interface LogBounds {
  readonly first: number;
  readonly last: number;
  readonly snapshotIndex: number;
  readonly records: readonly StoredRecord[];
}

// One-byte key prefixes; entry and chunk keys append a big-endian number so they sort numerically.
const KEY_HARD_STATE = Uint8Array.of(0x01);
const KEY_SNAPSHOT_HEADER = Uint8Array.of(0x02);
const PREFIX_SNAPSHOT_CHUNK = 0x03;
const KEY_MEMBERS = Uint8Array.of(0x04);
const KEY_BOOTSTRAP = Uint8Array.of(0x05);
/** One entry per record: the layout before blocks, still read. */
const PREFIX_ENTRY = 0x10;
const PREFIX_BLOCK = 0x11;

const DEFAULT_SNAPSHOT_CHUNK_BYTES = 1024 * 1024;
const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };

function indexKey(prefix: number, index: number): Uint8Array {
  const key = new Uint8Array(9);
  const view = new DataView(key.buffer);
  key[0] = prefix;
  view.setUint32(1, Math.floor(index / 0x1_0000_0000));
  view.setUint32(5, index % 0x1_0000_0000);
  return key;
}

function entryKey(index: number): Uint8Array {
  return indexKey(PREFIX_ENTRY, index);
}

function blockKey(firstIndex: number): Uint8Array {
  return indexKey(PREFIX_BLOCK, firstIndex);
}

function indexOfKey(key: Uint8Array): number {
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
  /** The records holding the stored entries, in index order. */
  private records: readonly StoredRecord[] = [];
  /** The last hard state written, to tell a commit-only change from a term or vote change. */
  private hardState: HardState = EMPTY_HARD_STATE;
  /**
   * A hard state that only moved the commit index, not written yet: it goes with the next write (or
   * at close). Such a write would not be synced anyway (see save), so holding it back loses nothing
   * a crash could not, and spares one LevelDB write per commit advance: half a busy leader's writes.
   */
  private pendingHardState: HardState | null = null;

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

  /**
   * Persists one Ready's state in a single synced batch (see SaveRequest). Resolves with whether the
   * batch was fsynced (false when there was nothing to write or only the commit index moved).
   */
  async save(request: SaveRequest): Promise<boolean> {
    this.assertWritable();
    // As etcd's MustSync: a change of the commit index alone needs no fsync. A commit index lost to
    // a power failure is learned again from the leader (and never drops below the snapshot), while
    // LevelDB's log keeps writes in order, so it cannot outlive the entries it points into. Here it
    // is not even written until something else is.
    const hard = request.hardState;
    const known = this.pendingHardState ?? this.hardState;
    if (
      request.snapshot === null &&
      request.entries.length === 0 &&
      hard !== null &&
      hard.term === known.term &&
      hard.vote === known.vote
    ) {
      this.pendingHardState = hard;
      return false;
    }
    const ops: Op[] = [];
    let next: LogBounds = {
      first: this.firstIndex,
      last: this.lastIndex,
      snapshotIndex: this.snapshotIndex,
      records: this.records,
    };
    let chunkCount = this.snapshotChunkCount;
    if (request.snapshot !== null) {
      chunkCount = this.snapshotOps(request.snapshot, ops);
      next = this.replaceLogOps(request.snapshot.meta.index, ops);
    }
    if (request.entries.length > 0) next = await this.appendOps(request.entries, next, ops);
    const written = this.withHardState(hard ?? this.pendingHardState, ops);
    if (ops.length === 0) return false;
    await this.write(ops);
    this.wroteHardState(written);
    this.firstIndex = next.first;
    this.lastIndex = next.last;
    this.snapshotIndex = next.snapshotIndex;
    this.records = next.records;
    this.snapshotChunkCount = chunkCount;
    return true;
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
    const written = this.withHardState(this.pendingHardState, ops);
    await this.write(ops);
    this.wroteHardState(written);
    this.firstIndex = Math.max(this.firstIndex, index + 1);
    this.snapshotIndex = index;
    this.snapshotChunkCount = chunkCount;
    // Records wholly covered go in native range deletes rather than one batch op each; a block that
    // straddles the snapshot stays. Not synced: entries at or below the snapshot are skipped on load
    // and deleted again next time.
    let cut = 0;
    while (cut < this.records.length && this.records[cut]!.last <= index) cut++;
    const lastBlockGone = this.records.slice(0, cut).findLast((r) => r.key[0] === PREFIX_BLOCK)?.first;
    this.records = this.records.slice(cut);
    try {
      await this.db.clear({ gte: entryKey(0), lte: entryKey(index) });
      if (lastBlockGone !== undefined) await this.db.clear({ gte: blockKey(0), lte: blockKey(lastBlockGone) });
    } catch (err) {
      throw storageError(this.dir, 'deleting compacted entries failed', err);
    }
  }

  /** Replaces the member address book. */
  async saveMembers(members: ReadonlyMap<NodeId, string>): Promise<void> {
    this.assertWritable();
    const ops: Op[] = [{ type: 'put', key: KEY_MEMBERS, value: encodeMembers(members) }];
    const written = this.withHardState(this.pendingHardState, ops);
    await this.write(ops);
    this.wroteHardState(written);
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
    const pending = this.pendingHardState;
    if (pending !== null && this.loaded) {
      // Written, not synced: as it would have been at once.
      await this.write([{ type: 'put', key: KEY_HARD_STATE, value: encodeHardState(pending) }], false).catch(() => {});
      this.wroteHardState(pending);
    }
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
  private replaceLogOps(snapshotIndex: number, ops: Op[]): LogBounds {
    for (const r of this.records) ops.push({ type: 'del', key: r.key });
    return { first: snapshotIndex + 1, last: snapshotIndex, snapshotIndex, records: [] };
  }

  /**
   * Writes `entries` as one block, deleting stored entries at or past their start that they replace
   * (a conflicting suffix): whole records go, and a block that starts before them is cut short.
   */
  private async appendOps(entries: readonly Entry[], current: LogBounds, ops: Op[]): Promise<LogBounds> {
    const first = entries[0]!.index;
    const last = entries.at(-1)!.index;
    invariant(first > current.snapshotIndex, `entry ${first} is at or below the snapshot at ${current.snapshotIndex}`);
    invariant(first <= current.last + 1, `entry ${first} leaves a gap after the last stored entry ${current.last}`);
    for (let i = 0; i < entries.length; i++) {
      invariant(
        entries[i]!.index === first + i,
        `entries are not contiguous: ${entries[i]!.index} follows ${first + i - 1}`,
      );
    }
    const records = [...current.records];
    while (records.length > 0 && records.at(-1)!.first >= first) ops.push({ type: 'del', key: records.pop()!.key });
    const straddling = records.at(-1);
    if (straddling !== undefined && straddling.last >= first) {
      // Only after a leader change: read the block back and keep the entries before the conflict.
      const kept = (await this.readBlock(straddling)).filter((e) => e.index < first);
      ops.push({ type: 'put', key: straddling.key, value: encodeEntryBlock(kept) });
      records[records.length - 1] = { ...straddling, last: first - 1 };
    }
    const key = blockKey(first);
    ops.push({ type: 'put', key, value: encodeEntryBlock(entries) });
    records.push({ first, last, key });
    const newFirst = current.last < current.first ? first : Math.min(current.first, first);
    return { first: newFirst, last, snapshotIndex: current.snapshotIndex, records };
  }

  private async readBlock(record: StoredRecord): Promise<Entry[]> {
    const bytes = await this.db.get(record.key);
    if (bytes === undefined)
      throw storageError(this.dir, `the block of entries ${record.first}..${record.last} is missing`);
    try {
      return decodeEntryBlock(bytes);
    } catch (err) {
      throw storageError(
        this.dir,
        `the block of entries from ${record.first} is corrupt: ${(err as Error).message}`,
        err,
      );
    }
  }

  /** Adds the hard state to a batch, if there is one; returns it. */
  private withHardState(hard: HardState | null, ops: Op[]): HardState | null {
    if (hard !== null) ops.push({ type: 'put', key: KEY_HARD_STATE, value: encodeHardState(hard) });
    return hard;
  }

  /** A written hard state is the newest one: a pending one (older or the same) is superseded. */
  private wroteHardState(hard: HardState | null): void {
    if (hard === null) return;
    this.hardState = hard;
    this.pendingHardState = null;
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

  /** The entries after the snapshot, from old one-entry records and then blocks; fills `records`. */
  private async loadEntries(snapshot: Snapshot | null): Promise<Entry[]> {
    const entries: Entry[] = [];
    const records: StoredRecord[] = [];
    const snapshotIndex = snapshot?.meta.index ?? 0;
    const take = (e: Entry, where: string): void => {
      if (e.index <= snapshotIndex) return; // covered by the snapshot: left by a crash during compaction
      const expected = entries.length === 0 ? snapshotIndex + 1 : entries.at(-1)!.index + 1;
      if (e.index !== expected)
        throw storageError(this.dir, `log entry ${e.index} found where ${expected} was expected (${where})`);
      entries.push(e);
    };
    const oldRange = { gte: entryKey(snapshotIndex + 1), lte: entryKey(Number.MAX_SAFE_INTEGER) };
    for await (const [key, value] of this.db.iterator(oldRange)) {
      const index = indexOfKey(key);
      let entry: Entry;
      try {
        entry = decodeEntry(value);
      } catch (err) {
        throw storageError(this.dir, `log entry ${index} is corrupt: ${(err as Error).message}`, err);
      }
      if (entry.index !== index)
        throw storageError(this.dir, `log entry under key ${index} claims index ${entry.index}`);
      take(entry, 'one-entry record');
      records.push({ first: index, last: index, key: entryKey(index) });
    }
    const blockRange = { gte: blockKey(0), lte: blockKey(Number.MAX_SAFE_INTEGER) };
    for await (const [key, value] of this.db.iterator(blockRange)) {
      const first = indexOfKey(key);
      let block: Entry[];
      try {
        block = decodeEntryBlock(value);
      } catch (err) {
        throw storageError(this.dir, `the block of entries from ${first} is corrupt: ${(err as Error).message}`, err);
      }
      if (block.length === 0 || block[0]!.index !== first) {
        throw storageError(this.dir, `the block under key ${first} starts at ${block[0]?.index ?? 'nothing'}`);
      }
      const last = block.at(-1)!.index;
      if (last <= snapshotIndex) continue; // wholly covered by the snapshot
      for (const e of block) take(e, `block from ${first}`);
      records.push({ first, last, key: blockKey(first) });
    }
    this.records = records;
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
