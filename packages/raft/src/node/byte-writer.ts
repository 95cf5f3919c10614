/**
 * An append-only byte buffer for the wire and storage codecs. Integers are unsigned LEB128 varints
 * (Raft indexes and terms are small most of the time, so most take one or two bytes).
 */
import { invariant } from '../core/errors.js';

const textEncoder = new TextEncoder();

export class ByteWriter {
  private bytes: Uint8Array;
  private length = 0;

  constructor(initialBytes = 256) {
    this.bytes = new Uint8Array(initialBytes);
  }

  u8(value: number): void {
    // Checked before the message is built: this runs for every byte of every frame.
    if (!(Number.isInteger(value) && value >= 0 && value <= 0xff)) invariant(false, `u8 out of range: ${value}`);
    this.reserve(1);
    this.bytes[this.length++] = value;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  /** A non-negative safe integer as an unsigned LEB128 varint (at most 8 bytes). */
  varuint(value: number): void {
    if (!(Number.isSafeInteger(value) && value >= 0)) invariant(false, `varuint out of range: ${value}`);
    this.reserve(8);
    let rest = value;
    // Division rather than `>>>`: bit operators truncate to 32 bits and indexes may grow past that.
    while (rest >= 0x80) {
      this.bytes[this.length++] = (rest % 0x80) | 0x80;
      rest = Math.floor(rest / 0x80);
    }
    this.bytes[this.length++] = rest;
  }

  /** Length-prefixed raw bytes. */
  bytesField(value: Uint8Array): void {
    this.varuint(value.byteLength);
    this.raw(value);
  }

  /** Length-prefixed UTF-8. */
  string(value: string): void {
    this.bytesField(textEncoder.encode(value));
  }

  /** Bytes without a length prefix (the reader must know where they end). */
  raw(value: Uint8Array): void {
    this.reserve(value.byteLength);
    this.bytes.set(value, this.length);
    this.length += value.byteLength;
  }

  get byteLength(): number {
    return this.length;
  }

  /** The written bytes, as a view of the internal buffer: the writer must not be used afterwards. */
  finish(): Uint8Array {
    return this.bytes.subarray(0, this.length);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.bytes.byteLength) return;
    let size = this.bytes.byteLength * 2;
    while (size < needed) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
}
