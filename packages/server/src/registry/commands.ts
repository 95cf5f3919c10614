import type { Check, Heartbeat, InstanceKey, Lease, Metadata, Namespace, ServiceKey } from './model.js';

/**
 * Every change to the registry is one of these commands in the Raft log. Each carries the time it was
 * proposed (`ts`, ms since the epoch, from the proposer's clock), so that applying it never reads a
 * clock and every replica computes the same state.
 */

export interface RegisterSpec extends InstanceKey {
  readonly weight: number;
  readonly healthy: boolean;
  readonly enabled: boolean;
  readonly ephemeral: boolean;
  readonly zone: string;
  readonly metadata: Metadata;
  readonly heartbeat: Heartbeat;
  readonly lease: Lease | null;
  readonly check: Check | null;
}

export interface InstancePatch {
  readonly weight?: number;
  readonly enabled?: boolean;
  readonly metadata?: Metadata;
}

export interface ServiceSpec extends ServiceKey {
  readonly protectThreshold: number;
  readonly metadata: Metadata;
}

export type Command =
  | { readonly op: 'register'; readonly ts: number; readonly instance: RegisterSpec }
  | { readonly op: 'deregister'; readonly ts: number; readonly key: InstanceKey }
  | { readonly op: 'update'; readonly ts: number; readonly key: InstanceKey; readonly patch: InstancePatch }
  /** Health transitions found by the leader's lease table or by active checks, in one batch. */
  | {
      readonly op: 'health';
      readonly ts: number;
      readonly changes: readonly { readonly key: InstanceKey; readonly healthy: boolean }[];
    }
  /** Instances whose lease ran out, in one batch. Persistent instances are never expired. */
  | { readonly op: 'expire'; readonly ts: number; readonly keys: readonly InstanceKey[] }
  | { readonly op: 'session.open'; readonly ts: number; readonly sessionId: string; readonly ttlMs: number }
  /** Closes sessions (by the client, or because they expired) and removes their instances. */
  | { readonly op: 'session.close'; readonly ts: number; readonly sessionIds: readonly string[] }
  | { readonly op: 'service.put'; readonly ts: number; readonly service: ServiceSpec }
  | { readonly op: 'service.delete'; readonly ts: number; readonly key: ServiceKey }
  | { readonly op: 'namespace.put'; readonly ts: number; readonly namespace: Namespace }
  | { readonly op: 'namespace.delete'; readonly ts: number; readonly id: string }
  /** A zone's traffic weight (0-100) for the federation's merged view. */
  | { readonly op: 'zone.weight'; readonly ts: number; readonly zone: string; readonly weight: number };

export type CommandOp = Command['op'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(cmd: Command): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

export function decodeCommand(bytes: Uint8Array): Command {
  return JSON.parse(decoder.decode(bytes)) as Command;
}
