/**
 * What the node stores as a Raft snapshot's data: the member address book at the snapshot's index,
 * then the state machine's own snapshot. A node that catches up by InstallSnapshot learns from it
 * where every member lives, which the snapshot's ConfState (ids only) cannot tell it.
 */
import type { NodeId } from '../core/types.js';
import { ByteReader, CodecError } from './byte-reader.js';
import { ByteWriter } from './byte-writer.js';
import { readMembers, writeMembers } from './codec.js';

const ENVELOPE_VERSION = 1;

export interface SnapshotEnvelope {
  readonly members: Map<NodeId, string>;
  readonly data: Uint8Array;
}

export function wrapSnapshot(members: ReadonlyMap<NodeId, string>, data: Uint8Array): Uint8Array {
  const w = new ByteWriter(data.byteLength + 64 * (members.size + 1));
  w.u8(ENVELOPE_VERSION);
  writeMembers(w, members);
  w.raw(data);
  return w.finish();
}

export function unwrapSnapshot(bytes: Uint8Array): SnapshotEnvelope {
  const r = new ByteReader(bytes);
  const version = r.u8();
  if (version !== ENVELOPE_VERSION) throw new CodecError(`unsupported snapshot envelope version ${version}`);
  const members = readMembers(r);
  return { members, data: r.raw(r.remaining) };
}
