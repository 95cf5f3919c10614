import type { KvInput, KvOpName } from './linearizability.js';

/**
 * A client's command as it travels through the log: who sent it (client and request id, so that the
 * node the client talked to can match the applied result, and so that duplicates apply once) and
 * what it asks. Reads travel through the log too, when a client chooses a log read over ReadIndex.
 */
export interface KvCommand {
  readonly clientId: number;
  readonly reqId: number;
  readonly op: KvOpName;
  readonly input: KvInput;
}

interface Wire {
  c: number;
  r: number;
  o: KvOpName;
  k: string;
  v?: string;
  e?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(cmd: KvCommand): Uint8Array {
  const wire: Wire = { c: cmd.clientId, r: cmd.reqId, o: cmd.op, k: cmd.input.key };
  if (cmd.input.value !== undefined) wire.v = cmd.input.value;
  if (cmd.input.expected !== undefined) wire.e = cmd.input.expected;
  return encoder.encode(JSON.stringify(wire));
}

export function decodeCommand(data: Uint8Array): KvCommand {
  const w = JSON.parse(decoder.decode(data)) as Wire;
  if (typeof w.c !== 'number' || typeof w.r !== 'number' || typeof w.k !== 'string') {
    throw new Error(`not a kv command: ${decoder.decode(data)}`);
  }
  const input: { key: string; value?: string; expected?: string } = { key: w.k };
  if (w.v !== undefined) input.value = w.v;
  if (w.e !== undefined) input.expected = w.e;
  return { clientId: w.c, reqId: w.r, op: w.o, input };
}
