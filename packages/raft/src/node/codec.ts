/**
 * The binary encoding of Raft messages (for peer frames) and of the records the log store keeps.
 * Every frame and every record starts with a version byte, so a node refuses what a different
 * version wrote instead of misreading it. Decoding validates everything and throws CodecError.
 *
 * Frame:   [version u8] [count varuint] [message]*count
 * Message: [type u8] [from str] [to str] [term varuint] [fields of the type]
 */
import type {
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  SnapshotMeta,
} from '../core/types.js';
import { ByteReader, CodecError } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';

export { CodecError } from './byte-reader.js';

/** Bump when the wire format changes; peers on different versions refuse each other's frames. */
export const WIRE_VERSION = 1;
/** Bump when a stored record's format changes; a store written by another version refuses to load. */
export const RECORD_VERSION = 1;

const MESSAGE_TAGS: Readonly<Record<MessageType, number>> = {
  vote: 1,
  preVote: 2,
  voteResp: 3,
  preVoteResp: 4,
  append: 5,
  appendResp: 6,
  heartbeat: 7,
  heartbeatResp: 8,
  snapshot: 9,
  snapshotResp: 10,
  prop: 11,
  propResp: 12,
  readIndex: 13,
  readIndexResp: 14,
  timeoutNow: 15,
};

const TAG_TO_TYPE = new Map<number, MessageType>(
  Object.entries(MESSAGE_TAGS).map(([type, tag]) => [tag, type as MessageType]),
);

const ENTRY_TYPE_TAGS: Readonly<Record<EntryType, number>> = { normal: 0, conf: 1 };

// ---------------------------------------------------------------------------------------------
// Frames and messages
// ---------------------------------------------------------------------------------------------

/** Encodes a batch of messages as one frame. */
export function encodeFrame(messages: readonly Message[]): Uint8Array {
  const w = new ByteWriter();
  w.u8(WIRE_VERSION);
  w.varuint(messages.length);
  for (const m of messages) writeMessage(w, m);
  return w.finish();
}

/**
 * Encodes one message body (no version, no count). The transport packs several bodies into one
 * frame with `frameFromBodies`, which lets it split a batch at a frame-size bound.
 */
export function encodeMessageBody(message: Message): Uint8Array {
  const w = new ByteWriter(bodyBytesHint(message));
  writeMessage(w, message);
  return w.finish();
}

/** Enough room for a message body at once, so that the writer never grows (and copies) while it encodes. */
function bodyBytesHint(m: Message): number {
  let bytes = 64 + 2 * (m.from.length + m.to.length);
  if (m.type === 'append' || m.type === 'prop') {
    for (const e of m.entries) bytes += e.data.byteLength + 24;
  } else if (m.type === 'snapshot') {
    bytes += m.chunk.byteLength + 64 + 32 * (m.meta.conf.voters.length + m.meta.conf.learners.length);
  }
  return bytes;
}

/** Joins message bodies from `encodeMessageBody` into one frame. */
export function frameFromBodies(bodies: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const b of bodies) total += b.byteLength;
  const w = new ByteWriter(total + 16);
  w.u8(WIRE_VERSION);
  w.varuint(bodies.length);
  for (const b of bodies) w.raw(b);
  return w.finish();
}

/** Bytes a frame adds around its bodies, at most: version byte plus an 8-byte count. */
export const FRAME_OVERHEAD_BYTES_MAX = 9;

/** Decodes a frame; throws CodecError if it is malformed in any way. */
export function decodeFrame(frame: Uint8Array): Message[] {
  const r = new ByteReader(frame);
  const version = r.u8();
  if (version !== WIRE_VERSION) throw new CodecError(`unsupported wire version ${version} (expected ${WIRE_VERSION})`);
  // Every message takes at least 4 bytes (type, two string lengths, term).
  const n = r.count(4);
  const messages: Message[] = new Array(n);
  for (let i = 0; i < n; i++) messages[i] = readMessage(r);
  r.end();
  return messages;
}

function writeMessage(w: ByteWriter, m: Message): void {
  w.u8(MESSAGE_TAGS[m.type]);
  w.string(m.from);
  w.string(m.to);
  w.varuint(m.term);
  switch (m.type) {
    case 'vote':
    case 'preVote':
      w.varuint(m.lastIndex);
      w.varuint(m.lastTerm);
      w.bool(m.transfer);
      return;
    case 'voteResp':
    case 'preVoteResp':
      w.bool(m.reject);
      return;
    case 'append':
      w.varuint(m.prevIndex);
      w.varuint(m.prevTerm);
      w.varuint(m.commit);
      w.varuint(m.entries.length);
      for (const e of m.entries) writeEntry(w, e);
      return;
    case 'appendResp':
      w.bool(m.reject);
      w.varuint(m.index);
      w.varuint(m.rejectHint);
      return;
    case 'heartbeat':
      w.varuint(m.commit);
      w.varuint(m.readSeq);
      return;
    case 'heartbeatResp':
      w.varuint(m.readSeq);
      return;
    case 'snapshot':
      writeSnapshotMeta(w, m.meta);
      w.varuint(m.offset);
      w.varuint(m.totalBytes);
      w.bytesField(m.chunk);
      return;
    case 'snapshotResp':
      w.varuint(m.index);
      w.varuint(m.offset);
      w.bool(m.reject);
      return;
    case 'prop':
      if (m.reqIds.length !== m.entries.length) {
        throw new CodecError(`prop has ${m.entries.length} entries but ${m.reqIds.length} reqIds`);
      }
      w.varuint(m.entries.length);
      for (let i = 0; i < m.entries.length; i++) {
        const e = m.entries[i]!;
        w.u8(ENTRY_TYPE_TAGS[e.type]);
        w.bytesField(e.data);
        w.varuint(m.reqIds[i]!);
      }
      return;
    case 'propResp':
      if (m.reqIds.length !== m.indexes.length) {
        throw new CodecError(`propResp has ${m.reqIds.length} reqIds but ${m.indexes.length} indexes`);
      }
      w.varuint(m.entryTerm);
      w.varuint(m.reqIds.length);
      for (let i = 0; i < m.reqIds.length; i++) {
        w.varuint(m.reqIds[i]!);
        w.varuint(m.indexes[i]!);
      }
      return;
    case 'readIndex':
      w.string(m.context);
      return;
    case 'readIndexResp':
      w.string(m.context);
      w.varuint(m.index);
      w.bool(m.reject);
      return;
    case 'timeoutNow':
      return;
  }
}

function readMessage(r: ByteReader): Message {
  const tag = r.u8();
  const type = TAG_TO_TYPE.get(tag);
  if (type === undefined) throw new CodecError(`unknown message type tag ${tag}`);
  const from = r.string();
  const to = r.string();
  const term = r.varuint();
  switch (type) {
    case 'vote':
    case 'preVote':
      return { type, from, to, term, lastIndex: r.varuint(), lastTerm: r.varuint(), transfer: r.bool() };
    case 'voteResp':
    case 'preVoteResp':
      return { type, from, to, term, reject: r.bool() };
    case 'append': {
      const prevIndex = r.varuint();
      const prevTerm = r.varuint();
      const commit = r.varuint();
      const n = r.count(4);
      const entries: Entry[] = new Array(n);
      for (let i = 0; i < n; i++) entries[i] = readEntry(r);
      return { type, from, to, term, prevIndex, prevTerm, entries, commit };
    }
    case 'appendResp':
      return { type, from, to, term, reject: r.bool(), index: r.varuint(), rejectHint: r.varuint() };
    case 'heartbeat':
      return { type, from, to, term, commit: r.varuint(), readSeq: r.varuint() };
    case 'heartbeatResp':
      return { type, from, to, term, readSeq: r.varuint() };
    case 'snapshot': {
      const meta = readSnapshotMeta(r);
      const offset = r.varuint();
      const totalBytes = r.varuint();
      const chunk = r.bytesField();
      if (offset + chunk.byteLength > totalBytes) {
        throw new CodecError(`snapshot chunk [${offset}, +${chunk.byteLength}) runs past totalBytes ${totalBytes}`);
      }
      return { type, from, to, term, meta, offset, totalBytes, chunk };
    }
    case 'snapshotResp':
      return { type, from, to, term, index: r.varuint(), offset: r.varuint(), reject: r.bool() };
    case 'prop': {
      const n = r.count(3);
      const entries: { type: EntryType; data: Uint8Array }[] = new Array(n);
      const reqIds: number[] = new Array(n);
      for (let i = 0; i < n; i++) {
        entries[i] = { type: readEntryType(r), data: r.bytesField() };
        reqIds[i] = r.varuint();
      }
      return { type, from, to, term, entries, reqIds };
    }
    case 'propResp': {
      const entryTerm = r.varuint();
      const n = r.count(2);
      const reqIds: number[] = new Array(n);
      const indexes: number[] = new Array(n);
      for (let i = 0; i < n; i++) {
        reqIds[i] = r.varuint();
        indexes[i] = r.varuint();
      }
      return { type, from, to, term, reqIds, indexes, entryTerm };
    }
    case 'readIndex':
      return { type, from, to, term, context: r.string() };
    case 'readIndexResp':
      return { type, from, to, term, context: r.string(), index: r.varuint(), reject: r.bool() };
    case 'timeoutNow':
      return { type, from, to, term };
  }
}

// ---------------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------------

function writeEntry(w: ByteWriter, e: Entry): void {
  w.varuint(e.term);
  w.varuint(e.index);
  w.u8(ENTRY_TYPE_TAGS[e.type]);
  w.bytesField(e.data);
}

function readEntry(r: ByteReader): Entry {
  const term = r.varuint();
  const index = r.varuint();
  const type = readEntryType(r);
  const data = r.bytesField();
  return { term, index, type, data };
}

function readEntryType(r: ByteReader): EntryType {
  const tag = r.u8();
  if (tag === ENTRY_TYPE_TAGS.normal) return 'normal';
  if (tag === ENTRY_TYPE_TAGS.conf) return 'conf';
  throw new CodecError(`unknown entry type tag ${tag}`);
}

function writeIds(w: ByteWriter, ids: readonly NodeId[]): void {
  w.varuint(ids.length);
  for (const id of ids) w.string(id);
}

function readIds(r: ByteReader): NodeId[] {
  const n = r.count(1);
  const ids: NodeId[] = new Array(n);
  for (let i = 0; i < n; i++) ids[i] = r.string();
  return ids;
}

function writeConfState(w: ByteWriter, c: ConfState): void {
  writeIds(w, c.voters);
  writeIds(w, c.learners);
}

function readConfState(r: ByteReader): ConfState {
  return { voters: readIds(r), learners: readIds(r) };
}

function writeSnapshotMeta(w: ByteWriter, m: SnapshotMeta): void {
  w.varuint(m.index);
  w.varuint(m.term);
  writeConfState(w, m.conf);
}

function readSnapshotMeta(r: ByteReader): SnapshotMeta {
  const index = r.varuint();
  const term = r.varuint();
  return { index, term, conf: readConfState(r) };
}

// ---------------------------------------------------------------------------------------------
// Stored records: each one versioned on its own, so a store can be checked record by record.
// ---------------------------------------------------------------------------------------------

function record(write: (w: ByteWriter) => void, initialBytes = 64): Uint8Array {
  const w = new ByteWriter(initialBytes);
  w.u8(RECORD_VERSION);
  write(w);
  return w.finish();
}

function unrecord<T>(bytes: Uint8Array, what: string, read: (r: ByteReader) => T): T {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== RECORD_VERSION) {
    throw new CodecError(`${what} record has version ${version}; this build reads version ${RECORD_VERSION}`);
  }
  const value = read(r);
  r.end();
  return value;
}

export function encodeEntry(e: Entry): Uint8Array {
  return record((w) => writeEntry(w, e), e.data.byteLength + 24);
}

export function decodeEntry(bytes: Uint8Array): Entry {
  return unrecord(bytes, 'entry', readEntry);
}

/** Contiguous entries stored as one record (one Ready's worth): one write instead of one per entry. */
export function encodeEntryBlock(entries: readonly Entry[]): Uint8Array {
  let bytes = 16;
  for (const e of entries) bytes += e.data.byteLength + 24;
  return record((w) => {
    w.varuint(entries.length);
    for (const e of entries) writeEntry(w, e);
  }, bytes);
}

export function decodeEntryBlock(bytes: Uint8Array): Entry[] {
  return unrecord(bytes, 'entry block', (r) => {
    // Every entry takes at least 4 bytes (term, index, type, data length).
    const n = r.count(4);
    const entries: Entry[] = new Array(n);
    for (let i = 0; i < n; i++) entries[i] = readEntry(r);
    return entries;
  });
}

export function encodeHardState(h: HardState): Uint8Array {
  return record((w) => {
    w.varuint(h.term);
    w.string(h.vote);
    w.varuint(h.commit);
  });
}

export function decodeHardState(bytes: Uint8Array): HardState {
  return unrecord(bytes, 'hard state', (r) => ({ term: r.varuint(), vote: r.string(), commit: r.varuint() }));
}

export function encodeConfState(c: ConfState): Uint8Array {
  return record((w) => writeConfState(w, c));
}

export function decodeConfState(bytes: Uint8Array): ConfState {
  return unrecord(bytes, 'conf state', readConfState);
}

export function encodeSnapshotMeta(m: SnapshotMeta): Uint8Array {
  return record((w) => writeSnapshotMeta(w, m));
}

export function decodeSnapshotMeta(bytes: Uint8Array): SnapshotMeta {
  return unrecord(bytes, 'snapshot meta', readSnapshotMeta);
}

/** A member address book: node id -> "host:port". Sorted by id so equal books encode equally. */
export function encodeMembers(members: ReadonlyMap<NodeId, string>): Uint8Array {
  return record((w) => writeMembers(w, members));
}

export function decodeMembers(bytes: Uint8Array): Map<NodeId, string> {
  return unrecord(bytes, 'members', readMembers);
}

export function writeMembers(w: ByteWriter, members: ReadonlyMap<NodeId, string>): void {
  const ids = [...members.keys()].sort();
  w.varuint(ids.length);
  for (const id of ids) {
    w.string(id);
    w.string(members.get(id)!);
  }
}

export function readMembers(r: ByteReader): Map<NodeId, string> {
  const n = r.count(2);
  const members = new Map<NodeId, string>();
  for (let i = 0; i < n; i++) {
    const id = r.string();
    if (members.has(id)) throw new CodecError(`duplicate member ${JSON.stringify(id)}`);
    members.set(id, r.string());
  }
  return members;
}

/** Where a stored snapshot's data lives: `chunkCount` records holding `dataBytes` bytes in all. */
export interface SnapshotHeader {
  readonly meta: SnapshotMeta;
  readonly dataBytes: number;
  readonly chunkCount: number;
}

export function encodeSnapshotHeader(h: SnapshotHeader): Uint8Array {
  return record((w) => {
    writeSnapshotMeta(w, h.meta);
    w.varuint(h.dataBytes);
    w.varuint(h.chunkCount);
  });
}

export function decodeSnapshotHeader(bytes: Uint8Array): SnapshotHeader {
  return unrecord(bytes, 'snapshot header', (r) => ({
    meta: readSnapshotMeta(r),
    dataBytes: r.varuint(),
    chunkCount: r.varuint(),
  }));
}
