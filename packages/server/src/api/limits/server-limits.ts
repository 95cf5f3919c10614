import { z } from 'zod';
import { DEFAULT_PUSH_LIMITS } from '../watch/push-limits.js';

/**
 * The bounds a zone replica puts on what clients may hold, send and keep open, in one place: each
 * has a flag (`--write-rate-max`...), an env var (CAIRN_WRITE_RATE_MAX...) and a default here.
 * Bounds fixed by the wire contract (name lengths, metadata entries, weights) live in
 * registry/model.ts LIMITS and protocol/protocol-limits.ts; bounds of the push sockets beyond the
 * socket counts in api/watch/push-limits.ts.
 */

const count = (max: number) => z.coerce.number().int().min(0).max(max);
const positive = (max: number) => z.coerce.number().int().min(1).max(max);

export const serverLimitsShape = {
  /** Writes one client address may send per window (heartbeats excluded); 0: no limit. */
  writeRateMax: count(10_000_000).default(1000),
  writeRateWindowMs: positive(3_600_000).default(10_000),
  /** Writes of clients waiting for their commit on this replica; more are refused (429). */
  writesInflightMax: positive(1_000_000).default(4096),
  /** Long-polls held at once on this replica; more are refused (429). */
  longPollsMax: positive(1_000_000).default(4096),
  instancesPerServiceMax: positive(10_000_000).default(20_000),
  instancesPerNamespaceMax: positive(100_000_000).default(100_000),
  servicesPerNamespaceMax: positive(10_000_000).default(20_000),
  namespacesMax: positive(1_000_000).default(1000),
  /** Keys and values of one metadata map together, in UTF-8 bytes. */
  metadataBytesMax: positive(16 * 1024 * 1024).default(16 * 1024),
  /** Open TCP connections on the client port (peer links included); more are dropped at accept. */
  connectionsMax: positive(10_000_000).default(50_000),
  watchConnectionsMax: positive(10_000_000).default(DEFAULT_PUSH_LIMITS.watchConnectionsMax),
  sessionConnectionsMax: positive(10_000_000).default(DEFAULT_PUSH_LIMITS.sessionConnectionsMax),
  /** Time to receive a request's headers (slow-loris); answered 408 and closed. */
  headersTimeoutMs: positive(3_600_000).default(10_000),
  /** Time to receive a whole request, body included (WebSocket upgrades and long-poll waits are not bodies). */
  requestTimeoutMs: positive(3_600_000).default(30_000),
  /** An HTTP connection silent this long is closed (long-polls extend it for their wait). */
  idleTimeoutMs: positive(3_600_000).default(60_000),
  /** A keep-alive connection with no request for this long is closed (longer than load balancers' 60 s). */
  keepAliveTimeoutMs: positive(3_600_000).default(72_000),
} as const;

export type ServerLimits = { readonly [K in keyof typeof serverLimitsShape]: number };

export const DEFAULT_SERVER_LIMITS: ServerLimits = z.object(serverLimitsShape).parse({});

/** The flags, merged into `cairn server`'s (config/server-config.ts). */
export const SERVER_LIMIT_FLAGS = {
  'write-rate-max': {
    type: 'string',
    help: 'writes (register, update, deregister, services, namespaces; not heartbeats) one client address may send per window; 0: no limit (default 1000)',
  },
  'write-rate-window-ms': { type: 'string', help: 'the window of --write-rate-max in ms (default 10000)' },
  'writes-inflight-max': {
    type: 'string',
    help: 'client writes waiting for their commit on this replica (default 4096)',
  },
  'long-polls-max': { type: 'string', help: 'long-polls held at once on this replica (default 4096)' },
  'instances-per-service-max': { type: 'string', help: 'instances one service may hold (default 20000)' },
  'instances-per-namespace-max': { type: 'string', help: 'instances one namespace may hold (default 100000)' },
  'services-per-namespace-max': { type: 'string', help: 'services one namespace may hold (default 20000)' },
  'namespaces-max': { type: 'string', help: 'namespaces the registry may hold (default 1000)' },
  'metadata-bytes-max': { type: 'string', help: 'UTF-8 bytes of one metadata map, keys and values (default 16384)' },
  'connections-max': {
    type: 'string',
    help: 'open TCP connections on the client port, peer links included (default 50000)',
  },
  'watch-connections-max': { type: 'string', help: 'open /v1/watch sockets (default 20000)' },
  'session-connections-max': { type: 'string', help: 'open /v1/session sockets (default 20000)' },
  'headers-timeout-ms': {
    type: 'string',
    help: "time to receive a request's headers, against slow clients (default 10000)",
  },
  'request-timeout-ms': { type: 'string', help: 'time to receive a whole request, body included (default 30000)' },
  'idle-timeout-ms': { type: 'string', help: 'an HTTP connection silent this long is closed (default 60000)' },
  'keep-alive-timeout-ms': {
    type: 'string',
    help: 'an idle keep-alive connection is closed after this (default 72000)',
  },
} as const;

/** The limits of a server configuration; a configuration built without them gets the defaults. */
export function serverLimitsOf(config: Partial<ServerLimits>): ServerLimits {
  const out: Record<string, number> = {};
  for (const key of Object.keys(DEFAULT_SERVER_LIMITS) as (keyof ServerLimits)[]) {
    const v = config[key];
    out[key] = typeof v === 'number' && Number.isInteger(v) ? v : DEFAULT_SERVER_LIMITS[key];
  }
  return out as unknown as ServerLimits;
}
