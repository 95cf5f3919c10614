import { DEFAULT_PUSH_LIMITS, type PushLimits } from '../../api/watch/push-limits.js';

/**
 * Bounds and timings of the federation's `/v1/watch`: the zone registry's watch limits (same
 * meaning, same defaults) plus the two bounds the federation keeps itself, since it has no
 * WatchHub: how much history it keeps for resumes, and how much one subscription may have queued.
 */
export interface FederationWatchLimits
  extends Pick<
    PushLimits,
    | 'watchConnectionsMax'
    | 'subscriptionsPerConnectionMax'
    | 'servicesPerSubscriptionMax'
    | 'servicesPerConnectionMax'
    | 'frameBytesMax'
    | 'messageBytesMax'
    | 'highWaterBytes'
    | 'slowConsumerTimeoutMs'
    | 'pingIntervalMs'
    | 'idleTimeoutMs'
    | 'progressIntervalMs'
    | 'sweepMs'
  > {
  /** Changes kept for subscriptions that resume from a revision (whole batches; the newest is always kept). */
  readonly historyChangesMax: number;
  /** Changes queued for one subscription before it is declared slow and resynced from a snapshot. */
  readonly queueChangesMax: number;
}

export const DEFAULT_FEDERATION_WATCH_LIMITS: FederationWatchLimits = {
  watchConnectionsMax: DEFAULT_PUSH_LIMITS.watchConnectionsMax,
  subscriptionsPerConnectionMax: DEFAULT_PUSH_LIMITS.subscriptionsPerConnectionMax,
  servicesPerSubscriptionMax: DEFAULT_PUSH_LIMITS.servicesPerSubscriptionMax,
  servicesPerConnectionMax: DEFAULT_PUSH_LIMITS.servicesPerConnectionMax,
  frameBytesMax: DEFAULT_PUSH_LIMITS.frameBytesMax,
  messageBytesMax: DEFAULT_PUSH_LIMITS.messageBytesMax,
  highWaterBytes: DEFAULT_PUSH_LIMITS.highWaterBytes,
  slowConsumerTimeoutMs: DEFAULT_PUSH_LIMITS.slowConsumerTimeoutMs,
  pingIntervalMs: DEFAULT_PUSH_LIMITS.pingIntervalMs,
  idleTimeoutMs: DEFAULT_PUSH_LIMITS.idleTimeoutMs,
  progressIntervalMs: DEFAULT_PUSH_LIMITS.progressIntervalMs,
  sweepMs: DEFAULT_PUSH_LIMITS.sweepMs,
  historyChangesMax: 200_000,
  queueChangesMax: 100_000,
};

/** Defaults overridden by `overrides`, checked: a bad limit is a programming error, caught at start. */
export function resolveFederationWatchLimits(overrides: Partial<FederationWatchLimits> = {}): FederationWatchLimits {
  const limits = { ...DEFAULT_FEDERATION_WATCH_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isInteger(value) || value <= 0)
      throw new Error(`federation watch limits: ${name} must be a positive integer`);
  }
  if (limits.servicesPerSubscriptionMax > DEFAULT_PUSH_LIMITS.servicesPerSubscriptionMax) {
    throw new Error('federation watch limits: servicesPerSubscriptionMax above the protocol bound');
  }
  return limits;
}
