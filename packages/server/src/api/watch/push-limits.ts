import { PROTOCOL_LIMITS } from '../../protocol/protocol-limits.js';

/** Bounds and timings of the push endpoints (/v1/watch and /v1/session) on one replica. */
export interface PushLimits {
  /** Open watch sockets; upgrades beyond are refused with 429 RATE_LIMITED. */
  readonly watchConnectionsMax: number;
  /** Open session sockets; upgrades beyond are refused with 429 RATE_LIMITED. */
  readonly sessionConnectionsMax: number;
  readonly subscriptionsPerConnectionMax: number;
  readonly servicesPerSubscriptionMax: number;
  /** Services over all subscriptions of one socket (an `all` subscription counts as one). */
  readonly servicesPerConnectionMax: number;
  /** Largest frame a client may send; larger ones close the socket (1009). */
  readonly frameBytesMax: number;
  /** Target size of one outgoing message: snapshots and large deltas are split to stay near it. */
  readonly messageBytesMax: number;
  /** A watch socket with more unsent bytes than this is not given more deltas until it drains. */
  readonly highWaterBytes: number;
  /** A watch socket that stays above the high-water mark this long is closed (4001). */
  readonly slowConsumerTimeoutMs: number;
  /** Server pings; a socket silent (no frame, no pong) for two intervals is closed (4000). */
  readonly pingIntervalMs: number;
  /** A watch socket without any subscription for this long is closed (4000). */
  readonly idleTimeoutMs: number;
  /** How often streaming subscriptions are told the current revision. */
  readonly progressIntervalMs: number;
  /** How long a resume from a revision this replica has not applied yet waits for it to catch up. */
  readonly catchUpWaitMs: number;
  /** A session socket must send `open` within this. */
  readonly openTimeoutMs: number;
  /** Requests (register, deregister) in flight on one session socket. */
  readonly sessionInflightMax: number;
  readonly instancesPerSessionMax: number;
  /** How often timers (pings, progress, idle and expiry checks) sweep the sockets. */
  readonly sweepMs: number;
}

export const DEFAULT_PUSH_LIMITS: PushLimits = {
  watchConnectionsMax: 20_000,
  sessionConnectionsMax: 20_000,
  subscriptionsPerConnectionMax: 256,
  servicesPerSubscriptionMax: PROTOCOL_LIMITS.servicesPerSubscriptionMax,
  servicesPerConnectionMax: 4096,
  frameBytesMax: 512 * 1024,
  messageBytesMax: 1024 * 1024,
  highWaterBytes: 1024 * 1024,
  slowConsumerTimeoutMs: 30_000,
  pingIntervalMs: 15_000,
  idleTimeoutMs: 60_000,
  progressIntervalMs: 2000,
  catchUpWaitMs: 3000,
  openTimeoutMs: 10_000,
  sessionInflightMax: 64,
  instancesPerSessionMax: 256,
  sweepMs: 250,
};

/** Defaults overridden by `overrides`, checked: a bad limit is a programming error, caught at start. */
export function resolvePushLimits(overrides: Partial<PushLimits> = {}): PushLimits {
  const limits = { ...DEFAULT_PUSH_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`push limits: ${name} must be a positive integer`);
  }
  if (limits.servicesPerSubscriptionMax > PROTOCOL_LIMITS.servicesPerSubscriptionMax) {
    throw new Error(
      `push limits: servicesPerSubscriptionMax above the protocol's ${PROTOCOL_LIMITS.servicesPerSubscriptionMax}`,
    );
  }
  return limits;
}
