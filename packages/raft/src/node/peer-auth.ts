/**
 * Authentication of peer links: the dialer proves it holds the cluster secret with an HMAC over who
 * it is, whom it dials, when, and the address it can be reached at. The acceptor checks the MAC in
 * constant time, refuses stale timestamps, and refuses a MAC it has already seen (a replayed upgrade).
 *
 * Timestamps are wall-clock milliseconds: they are compared across hosts, which a monotonic clock
 * cannot do. The freshness window must cover the clock skew between replicas.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { NodeId } from '../core/types.js';

export const HEADER_FROM = 'x-cairn-raft-from';
export const HEADER_TO = 'x-cairn-raft-to';
export const HEADER_TIMESTAMP = 'x-cairn-raft-ts';
export const HEADER_ADDRESS = 'x-cairn-raft-addr';
export const HEADER_MAC = 'x-cairn-raft-mac';

/** Most MACs remembered for replay detection; past this the acceptor refuses new links until some expire. */
const SEEN_MACS_MAX = 10_000;

export type UpgradeVerdict =
  | { readonly ok: true; readonly peer: NodeId; readonly address: string }
  | { readonly ok: false; readonly status: 401 | 403 | 503; readonly reason: string; readonly peer: string };

/** The MAC input. Node ids and addresses never contain '|' (the node validates them), so it is unambiguous. */
function macInput(from: NodeId, to: NodeId, timestampMs: number, address: string): string {
  return `${from}|${to}|${timestampMs}|${address}`;
}

function mac(secret: Uint8Array, from: NodeId, to: NodeId, timestampMs: number, address: string): Buffer {
  return createHmac('sha256', secret)
    .update(macInput(from, to, timestampMs, address))
    .digest();
}

/** The headers a dialer sends on its upgrade request. */
export function signUpgrade(
  secret: Uint8Array,
  from: NodeId,
  to: NodeId,
  address: string,
  nowMs = Date.now(),
): Record<string, string> {
  return {
    [HEADER_FROM]: from,
    [HEADER_TO]: to,
    [HEADER_TIMESTAMP]: String(nowMs),
    [HEADER_ADDRESS]: address,
    [HEADER_MAC]: mac(secret, from, to, nowMs, address).toString('hex'),
  };
}

function header(headers: IncomingHttpHeaders, name: string): string {
  const value = headers[name];
  return typeof value === 'string' ? value : '';
}

export interface UpgradeVerifierOptions {
  readonly self: NodeId;
  readonly secret: Uint8Array;
  /** How far a timestamp may be from this host's clock, either way. */
  readonly windowMs: number;
  readonly isMember: (id: NodeId) => boolean;
}

export class UpgradeVerifier {
  private readonly opts: UpgradeVerifierOptions;
  /** MAC (hex) -> wall-clock ms after which it is stale anyway. Insertion order is expiry order, nearly. */
  private readonly seen = new Map<string, number>();

  constructor(options: UpgradeVerifierOptions) {
    this.opts = options;
  }

  verify(headers: IncomingHttpHeaders, nowMs = Date.now()): UpgradeVerdict {
    const from = header(headers, HEADER_FROM);
    const to = header(headers, HEADER_TO);
    const timestampText = header(headers, HEADER_TIMESTAMP);
    const address = header(headers, HEADER_ADDRESS);
    const macHex = header(headers, HEADER_MAC);
    const refuse = (status: 401 | 403 | 503, reason: string): UpgradeVerdict => ({
      ok: false,
      status,
      reason,
      peer: from,
    });

    if (from === '' || macHex === '') return refuse(401, 'missing raft peer authentication headers');
    const timestampMs = /^\d{1,15}$/.test(timestampText) ? Number(timestampText) : Number.NaN;
    if (!Number.isSafeInteger(timestampMs)) return refuse(401, 'malformed timestamp');
    const expected = mac(this.opts.secret, from, to, timestampMs, address);
    const given = /^[0-9a-f]+$/i.test(macHex) ? Buffer.from(macHex, 'hex') : Buffer.alloc(0);
    // timingSafeEqual needs equal lengths; a wrong length is a wrong MAC and reveals nothing secret.
    if (given.byteLength !== expected.byteLength || !timingSafeEqual(given, expected)) {
      return refuse(401, 'bad MAC (wrong cluster secret?)');
    }
    if (Math.abs(nowMs - timestampMs) > this.opts.windowMs) {
      return refuse(401, `timestamp ${timestampMs} is outside the ${this.opts.windowMs} ms window (clock skew?)`);
    }
    if (to !== this.opts.self) return refuse(403, `dialed ${to} but this is ${this.opts.self}`);
    if (from === this.opts.self) return refuse(403, 'a node does not link to itself');
    if (!this.opts.isMember(from)) return refuse(403, `${from} is not a member of the cluster`);

    this.forgetExpired(nowMs);
    const key = expected.toString('hex');
    if (this.seen.has(key)) return refuse(401, 'replayed authentication');
    if (this.seen.size >= SEEN_MACS_MAX) return refuse(503, 'too many recent peer handshakes');
    this.seen.set(key, timestampMs + this.opts.windowMs);
    return { ok: true, peer: from, address };
  }

  private forgetExpired(nowMs: number): void {
    for (const [key, expiresMs] of this.seen) {
      if (expiresMs >= nowMs) break;
      this.seen.delete(key);
    }
  }
}
