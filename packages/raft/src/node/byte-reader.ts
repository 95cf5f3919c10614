/**
 * Reads what ByteWriter wrote, refusing anything malformed: truncated fields, varints that overflow
 * a safe integer, booleans other than 0/1, invalid UTF-8, and lengths past the end of the input.
 * Every failure throws a CodecError, so callers can refuse the whole frame or record.
 */

/** Thrown for bytes that do not decode: a peer speaking garbage, or a corrupted record. */
export class CodecError extends Error {
  readonly code = 'MALFORMED';

  constructor(message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

// ignoreBOM keeps a leading U+FEFF, so every string that decodes re-encodes to the same bytes.
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** 8 varint bytes carry 56 bits, enough for any safe integer (53 bits). */
const VARUINT_MAX_BYTES = 8;

export class ByteReader {
  private readonly bytes: Uint8Array;
  private offset = 0;

  constructor(input: Uint8Array) {
    // A plain view, so the copies taken below are plain Uint8Arrays even when the input is a Buffer.
    this.bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  }

  get remaining(): number {
    return this.bytes.byteLength - this.offset;
  }

  u8(): number {
    if (this.offset >= this.bytes.byteLength) throw new CodecError(`truncated at byte ${this.offset}`);
    return this.bytes[this.offset++]!;
  }

  bool(): boolean {
    const value = this.u8();
    if (value > 1) throw new CodecError(`invalid boolean ${value} at byte ${this.offset - 1}`);
    return value === 1;
  }

  varuint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < VARUINT_MAX_BYTES; i++) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) {
        if (!Number.isSafeInteger(value))
          throw new CodecError(`varuint overflows a safe integer at byte ${this.offset}`);
        // A trailing zero byte is a non-canonical encoding; refusing it keeps encodings unique.
        if (byte === 0 && i > 0) throw new CodecError(`non-canonical varuint at byte ${this.offset}`);
        return value;
      }
      scale *= 0x80;
    }
    throw new CodecError(`varuint longer than ${VARUINT_MAX_BYTES} bytes at byte ${this.offset}`);
  }

  /** A count of items that each take at least `minItemBytes`, checked against what is left. */
  count(minItemBytes = 1): number {
    const n = this.varuint();
    if (n * minItemBytes > this.remaining) throw new CodecError(`count ${n} exceeds the ${this.remaining} bytes left`);
    return n;
  }

  /** Length-prefixed bytes, copied so the result does not pin the input buffer. */
  bytesField(): Uint8Array {
    const n = this.varuint();
    return this.raw(n);
  }

  string(): string {
    const n = this.varuint();
    if (n > this.remaining) throw new CodecError(`string of ${n} bytes exceeds the ${this.remaining} bytes left`);
    const start = this.offset;
    this.offset += n;
    try {
      return textDecoder.decode(this.bytes.subarray(start, start + n));
    } catch {
      throw new CodecError(`invalid UTF-8 at byte ${start}`);
    }
  }

  raw(n: number): Uint8Array {
    if (n > this.remaining) throw new CodecError(`field of ${n} bytes exceeds the ${this.remaining} bytes left`);
    const start = this.offset;
    this.offset += n;
    return this.bytes.slice(start, start + n);
  }

  /** Asserts the input was consumed exactly: trailing bytes mean a framing or version mismatch. */
  end(): void {
    if (this.remaining !== 0) throw new CodecError(`${this.remaining} trailing bytes at byte ${this.offset}`);
  }
}
