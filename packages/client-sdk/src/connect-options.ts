import { readFileSync } from 'node:fs';
import { type Clock, systemClock } from './clock.js';
import { CairnSdkError } from './errors.js';
import { type Logger, silentLogger } from './logger.js';
import { type OutlierOptions, resolveOutlierOptions } from './picking/outlier-detector.js';
import type { LabelFallback } from './picking/zone-picker.js';
import { resolveZonePolicy, type ZonePolicy, type ZonePolicyOptions } from './picking/zone-policy.js';
import { normalizeBaseUrl } from './transport/replica-set.js';

export interface PickingOptions extends ZonePolicyOptions {
  /** When no healthy instance carries the asked labels: `all` (default) uses the whole service, `none` nothing. */
  readonly labelFallback?: LabelFallback;
  /** How long instances that left the view still count as unhealthy in their zone (default 30000). */
  readonly departedMemoryMs?: number;
}

/** A PEM certificate, or several. */
export type PemCertificates = string | Buffer | (string | Buffer)[];

/** TLS towards `https://` registry servers and federation replicas. */
export interface TlsOptions {
  /** The CA that signs their certificates (PEM), instead of Node's trusted roots (or CAIRN_TLS_CA, a PEM file). */
  readonly ca?: PemCertificates;
}

export interface ConnectOptions {
  /** The caller's zone (or CAIRN_ZONE). */
  readonly zone?: string;
  /** The zone registry's replicas; any one is enough to start (or CAIRN_SERVERS, comma-separated). */
  readonly servers?: readonly string[];
  /** The federation, for other zones' instances (or CAIRN_FEDERATION). Optional. */
  readonly federation?: readonly string[];
  readonly namespace?: string;
  readonly group?: string;
  /** Where views are cached for a start without registry (or CAIRN_CACHE_DIR); null: no disk cache. */
  readonly cacheDir?: string | null;
  /** Sent as `Authorization: Bearer <token>` (or CAIRN_TOKEN). */
  readonly token?: string;
  /** For `https://` servers whose certificates a private CA signs. */
  readonly tls?: TlsOptions;
  /** The IP to register (or CAIRN_IP); detected when not given. */
  readonly ip?: string;
  readonly picking?: PickingOptions;
  /** Passive outlier ejection; false turns it off. */
  readonly outliers?: Partial<OutlierOptions> | false;
  /** Hold back pushes that would leave a service with no healthy instance (default true). */
  readonly pushEmptyProtection?: boolean;
  /** The session lease's TTL in ms (default 3000; 1000-60000). */
  readonly sessionTtlMs?: number;
  /** How long connect() waits for a registry before serving from the disk cache (default 3000). */
  readonly connectTimeoutMs?: number;
  /** How long a new view waits for its first snapshot before the disk cache is used (default 3000). */
  readonly firstViewTimeoutMs?: number;
  /** Deregister at once on these signals (true: SIGTERM and SIGINT), then let the signal take its course. */
  readonly deregisterOnSignals?: boolean | readonly NodeJS.Signals[];
  readonly logger?: Logger;
  /** For tests: time and randomness. */
  readonly clock?: Clock;
  readonly random?: () => number;
  /** Where CAIRN_* settings are read from (default process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedOptions {
  readonly zone: string;
  readonly servers: readonly string[];
  readonly federation: readonly string[];
  readonly namespace: string;
  readonly group: string;
  readonly cacheDir: string | null;
  readonly headers: Record<string, string>;
  readonly token: string | undefined;
  /** The CA to trust for https/wss to the registry and the federation; undefined: Node's roots. */
  readonly tlsCa: PemCertificates | undefined;
  readonly ip: string | undefined;
  readonly policy: ZonePolicy;
  readonly labelFallback: LabelFallback;
  readonly departedMemoryMs: number;
  readonly outliers: OutlierOptions | null;
  readonly pushEmptyProtection: boolean;
  readonly sessionTtlMs: number;
  readonly connectTimeoutMs: number;
  readonly firstViewTimeoutMs: number;
  readonly signals: readonly NodeJS.Signals[];
  readonly logger: Logger;
  readonly clock: Clock;
  readonly random: () => number;
}

const NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

export function resolveOptions(o: ConnectOptions): ResolvedOptions {
  const env = o.env ?? process.env;
  const list = (v: string | undefined): string[] =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  const bad = (msg: string): never => {
    throw new CairnSdkError('INVALID_OPTIONS', msg);
  };
  const zone = o.zone ?? env.CAIRN_ZONE ?? '';
  if (!NAME.test(zone)) bad(`zone '${zone}' is missing or not a zone name: give connect({ zone }) or set CAIRN_ZONE`);
  const servers = (o.servers ?? list(env.CAIRN_SERVERS)).map(normalizeBaseUrl);
  if (servers.length === 0) bad('give the zone registry servers: connect({ servers: [...] }) or CAIRN_SERVERS');
  const federation = (o.federation ?? list(env.CAIRN_FEDERATION)).map(normalizeBaseUrl);
  const namespace = o.namespace ?? 'public';
  const group = o.group ?? 'DEFAULT_GROUP';
  if (!NAME.test(namespace)) bad(`namespace '${namespace}' is not a name`);
  if (!NAME.test(group)) bad(`group '${group}' is not a name`);
  const sessionTtlMs = o.sessionTtlMs ?? 3000;
  if (!Number.isInteger(sessionTtlMs) || sessionTtlMs < 1000 || sessionTtlMs > 60_000) {
    bad(`sessionTtlMs must be an integer from 1000 to 60000, got ${sessionTtlMs}`);
  }
  const token = o.token ?? env.CAIRN_TOKEN;
  let tlsCa = o.tls?.ca;
  if (tlsCa === undefined && env.CAIRN_TLS_CA) {
    try {
      tlsCa = readFileSync(env.CAIRN_TLS_CA);
    } catch (err) {
      bad(`CAIRN_TLS_CA names a file that cannot be read (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  const signals =
    o.deregisterOnSignals === true
      ? (['SIGTERM', 'SIGINT'] as const)
      : o.deregisterOnSignals
        ? [...o.deregisterOnSignals]
        : [];
  return {
    zone,
    servers,
    federation,
    namespace,
    group,
    cacheDir: o.cacheDir === undefined ? (env.CAIRN_CACHE_DIR ?? null) : o.cacheDir,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    token,
    tlsCa,
    ip: o.ip ?? env.CAIRN_IP,
    policy: resolveZonePolicy(zone, o.picking),
    labelFallback: o.picking?.labelFallback ?? 'all',
    departedMemoryMs: o.picking?.departedMemoryMs ?? 30_000,
    outliers: resolveOutlierOptions(o.outliers),
    pushEmptyProtection: o.pushEmptyProtection ?? true,
    sessionTtlMs,
    connectTimeoutMs: o.connectTimeoutMs ?? 3000,
    firstViewTimeoutMs: o.firstViewTimeoutMs ?? 3000,
    signals,
    logger: o.logger ?? silentLogger,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
  };
}

export function checkName(what: string, name: string): void {
  if (!NAME.test(name)) {
    throw new CairnSdkError('INVALID_OPTIONS', `${what} '${name}' may contain letters, digits and _ . : - only`);
  }
}
