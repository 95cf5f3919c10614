/**
 * Hard bounds the message schemas enforce. A server may be configured tighter; it announces the
 * limits it applies in its `hello` message.
 */
export const PROTOCOL_LIMITS = {
  /** Length of a client-chosen subscription id. */
  subscriptionIdLengthMax: 128,
  /** Services one `subscribe` may name. */
  servicesPerSubscriptionMax: 1024,
  /** Session lease TTL bounds and default, in ms. */
  sessionTtlMsMin: 1000,
  sessionTtlMsMax: 60_000,
  sessionTtlMsDefault: 3000,
  /** How often a session client should send `keepalive`, at most (the server may ask for less). */
  keepaliveMsMax: 1000,
} as const;

/** The weight an instance registered without one gets (weights range 0-10000). */
export const DEFAULT_INSTANCE_WEIGHT = 100;
