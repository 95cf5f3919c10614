import { decodePut } from './kv-command.js';

/** A committed Raft entry as the state machine sees it. */
export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}

/**
 * The bench's replicated state: a Map from key to value bytes.
 * Snapshot layout: u32 entry count, then per entry u16 key length, key, u32 value length, value.
 */
export class KvStateMachine {
  #entries = new Map<string, Uint8Array>();
  #appliedIndex = 0;

  get size(): number {
    return this.#entries.size;
  }

  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  apply(entry: AppliedEntry): number {
    if (entry.index <= this.#appliedIndex) {
      throw new Error(`entry ${entry.index} applied out of order after ${this.#appliedIndex}`);
    }
    this.#appliedIndex = entry.index;
    // Empty entries are the leader's no-ops at the start of its term.
    if (entry.data.length === 0) return this.#entries.size;
    const { key, value } = decodePut(entry.data);
    this.#entries.set(key, value);
    return this.#entries.size;
  }

  snapshot(): Uint8Array {
    const parts: Buffer[] = [];
    const header = Buffer.allocUnsafe(4);
    header.writeUInt32BE(this.#entries.size, 0);
    parts.push(header);
    for (const [key, value] of this.#entries) {
      const keyBytes = Buffer.from(key, 'utf8');
      const lengths = Buffer.allocUnsafe(6);
      lengths.writeUInt16BE(keyBytes.length, 0);
      lengths.writeUInt32BE(value.length, 2);
      parts.push(lengths.subarray(0, 2), keyBytes, lengths.subarray(2), Buffer.from(value));
    }
    return Buffer.concat(parts);
  }

  restore(data: Uint8Array, index: number): void {
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    const entries = new Map<string, Uint8Array>();
    const count = bytes.readUInt32BE(0);
    let offset = 4;
    for (let i = 0; i < count; i++) {
      const keyLength = bytes.readUInt16BE(offset);
      const key = bytes.toString('utf8', offset + 2, offset + 2 + keyLength);
      offset += 2 + keyLength;
      const valueLength = bytes.readUInt32BE(offset);
      entries.set(key, new Uint8Array(bytes.subarray(offset + 4, offset + 4 + valueLength)));
      offset += 4 + valueLength;
    }
    if (offset !== bytes.length) throw new Error(`snapshot has ${bytes.length - offset} trailing bytes`);
    this.#entries = entries;
    this.#appliedIndex = index;
  }
}
