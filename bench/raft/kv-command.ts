/**
 * The one command the bench's key-value state machine replicates: put(key, value).
 * Layout: u16 key length, key (UTF-8), value bytes. The value stays opaque, as in etcd.
 */
export interface PutCommand {
  readonly key: string;
  readonly value: Uint8Array;
}

const keyBytesMax = 0xffff;

export function encodePut(key: string, value: Uint8Array): Uint8Array {
  const keyBytes = Buffer.from(key, 'utf8');
  if (keyBytes.length > keyBytesMax) throw new RangeError(`key of ${keyBytes.length} bytes exceeds ${keyBytesMax}`);
  const bytes = Buffer.allocUnsafe(2 + keyBytes.length + value.length);
  bytes.writeUInt16BE(keyBytes.length, 0);
  keyBytes.copy(bytes, 2);
  bytes.set(value, 2 + keyBytes.length);
  return bytes;
}

export function decodePut(data: Uint8Array): PutCommand {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const keyLength = bytes.readUInt16BE(0);
  if (2 + keyLength > bytes.length) throw new RangeError('put command shorter than its key');
  return {
    key: bytes.toString('utf8', 2, 2 + keyLength),
    // A copy, so the map does not pin the whole buffer the entry was decoded from.
    value: new Uint8Array(bytes.subarray(2 + keyLength)),
  };
}
