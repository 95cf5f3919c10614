/** Instance bodies for POST /v1/instances, each distinct by (ip, port). */

export const SERVICE_PATH_PREFIX = '/v1/services/public/DEFAULT_GROUP/';

/** About 300 bytes of metadata, like a real service's labels. */
export const METADATA: Record<string, string> = {
  version: '2.14.3',
  region: 'eu-west-1',
  az: 'az1',
  'app.kubernetes.io/name': 'checkout-api',
  'app.kubernetes.io/instance': 'checkout-api-7d9f8b6c4-x2kqp',
  commit: '9f3b2c1e8a7d6f5e4c3b2a1908f7e6d5c4b3a291',
  protocol: 'http2',
  'managed-by': 'cairn-bench',
  owner: 'payments-team',
  tier: 'backend',
};

/** The (ip, port) of the n-th instance: up to ~16M distinct addresses. */
export function address(n: number): { ip: string; port: number } {
  const host = Math.floor(n / 60_000);
  return { ip: `10.${(host >> 16) & 255}.${(host >> 8) & 255}.${host & 255}`, port: 1024 + (n % 60_000) };
}

export interface RegisterOptions {
  readonly ephemeral: boolean;
  readonly heartbeat?: { intervalMs: number; unhealthyAfterMs: number; expireAfterMs: number };
  readonly metadata?: Record<string, string>;
}

export function registerBody(service: string, n: number, options: RegisterOptions): Record<string, unknown> {
  return {
    service,
    ...address(n),
    ephemeral: options.ephemeral,
    metadata: options.metadata ?? METADATA,
    ...(options.heartbeat === undefined ? {} : { heartbeat: options.heartbeat }),
  };
}

export function instanceKey(service: string, n: number): Record<string, unknown> {
  return { service, ...address(n) };
}
