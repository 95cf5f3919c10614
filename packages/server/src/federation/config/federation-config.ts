import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { type AuthConfig, loadAuthFile } from '../../auth/auth-config.js';
import { hostPortSchema, readConfigFile } from '../../config/config-input.js';
import { CairnError, type FieldError } from '../../errors.js';
import type { MergeMode } from '../federated-view.js';
import { parseZones, type ZoneEndpoints } from './zone-endpoints.js';

/**
 * `cairn federation` settings. Each comes from a flag, else an env var (CAIRN_ + the flag in
 * SCREAMING_SNAKE; zones from CAIRN_ZONES), else a JSON config file (`--config`), else its default.
 * All validated by one schema.
 */

const hostPort = hostPortSchema;

/** A bearer token as an Authorization header carries it: no whitespace, no control characters. */
const bearerToken = z
  .string()
  .regex(/^[^\s\p{Cc}]{1,4096}$/u, 'must be a token of 1-4096 characters without spaces or control characters');

/** What a zone it cannot reach does to the merged view. */
export type ZonePolicy = 'keep' | 'drop';

export const federationConfigSchema = z.object({
  listen: hostPort.default('0.0.0.0:8900'),
  /** host:port for DNS (UDP and TCP), or `off`. */
  dns: z
    .union([z.string(), z.null()])
    .default('0.0.0.0:8600')
    .transform((v, ctx) => {
      if (v === null || v === 'off') return null;
      if (!hostPort.safeParse(v).success) {
        ctx.addIssue({ code: 'custom', message: `'${v}' must be host:port (port 0-65535) or off` });
        return z.NEVER;
      }
      return v;
    }),
  dnsDomain: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/, 'a DNS name like cairn')
    .default('cairn'),
  dnsTtlS: z.coerce.number().int().min(0).max(1).default(1),
  zones: z.unknown().transform((v, ctx) => parseZones(v, ctx)),
  policy: z.enum(['keep', 'drop']).default('keep'),
  dropAfterMs: z.coerce.number().int().min(0).max(86_400_000).default(30_000),
  merge: z.enum(['flat', 'locality']).default('flat'),
  overprovisioning: z.coerce.number().min(1).max(10).default(1.4),
  nodeId: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, 'letters, digits, . _ : - (start with a letter or digit)')
    .optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  readyGraceMs: z.coerce.number().int().min(0).max(600_000).default(10_000),
  /** The auth file (users, tokens, roles; see auth/): authentication on this node; off without it. */
  authFile: z.string().min(1).optional(),
  /** Sent as `Authorization: Bearer` to auth-on zones: watches (`all: true`) and cluster reads need `read` on `*`. */
  zoneToken: bearerToken.optional(),
  zoneTokenFile: z.string().min(1).optional(),
  /** PEM CA bundle the zones' certificates are checked against (default: Node's trusted roots). */
  zoneCa: z.string().min(1).optional(),
  /** PEM certificate and key: this node's port serves HTTPS and WSS (reread on SIGHUP). */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
});

export interface FederationConfig {
  /** host:port of the REST, watch, Nacos and UI port. */
  readonly listen: string;
  /** host:port of the DNS server (UDP and TCP), or null when DNS is off. */
  readonly dns: string | null;
  readonly dnsDomain: string;
  readonly dnsTtlS: number;
  /** In configuration order (the order instances and settings are preferred in). */
  readonly zones: readonly ZoneEndpoints[];
  readonly policy: ZonePolicy;
  /** Under `drop`: how long a stale zone's instances still serve before they leave the view. */
  readonly dropAfterMs: number;
  readonly merge: MergeMode;
  /** Locality mode: a zone keeps its full share while healthy ratio x this >= 1 (Envoy's 1.4). */
  readonly overprovisioning: number;
  /** This node's id; defaults to the host:port it listens on. */
  readonly nodeId?: string | undefined;
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `/readyz` answers ready once every zone has been live, or after this long at the latest. */
  readonly readyGraceMs: number;
  /** The auth file's path; absent: authentication is off. */
  readonly authFile?: string | undefined;
  /** The auth file, loaded and checked by loadFederationConfig (absent: loaded from authFile at start). */
  readonly auth?: AuthConfig | null;
  /** The token presented to the zones (from --zone-token or --zone-token-file); absent: none. */
  readonly zoneToken?: string | undefined;
  readonly zoneTokenFile?: string | undefined;
  /** PEM CA bundle for https/wss zones; absent: Node's trusted roots. */
  readonly zoneCa?: string | undefined;
  /** PEM certificate and key of this node's port (both or neither). */
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
}

/** Flags, their help, and the env var each also reads. */
export const FEDERATION_FLAGS = {
  config: { type: 'string', help: 'JSON file with any of the settings below (flags and env vars win)' },
  listen: { type: 'string', help: 'host:port for REST, watch, Nacos reads and the UI (default 0.0.0.0:8900)' },
  zone: {
    type: 'string',
    multiple: true,
    help: 'a zone and its replicas: az1=http://host:port,http://host:port (repeat per zone)',
    env: 'CAIRN_ZONES',
    envHelp: 'zones separated by ;',
  },
  dns: { type: 'string', help: 'host:port for DNS over UDP and TCP, or off (default 0.0.0.0:8600)' },
  'dns-domain': { type: 'string', help: 'DNS domain served: <service>.service.<domain> (default cairn)' },
  'dns-ttl-s': { type: 'string', help: 'TTL of DNS answers in seconds, 0 or 1 (default 1)' },
  policy: {
    type: 'string',
    help: 'for an unreachable zone: keep its last instances (fail-static, default) or drop them',
  },
  'drop-after-ms': { type: 'string', help: 'with --policy drop: grace before a stale zone leaves (default 30000)' },
  merge: { type: 'string', help: 'flat (instances keep their weights, default) or locality (Envoy-style shares)' },
  overprovisioning: { type: 'string', help: 'locality mode: overprovisioning factor (default 1.4)' },
  'node-id': { type: 'string', help: "this federation node's id (default: the host:port it listens on)" },
  'log-level': { type: 'string', help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  'ready-grace-ms': {
    type: 'string',
    help: '/readyz turns ready when every zone was reached, or after this (default 10000)',
  },
  'auth-file': {
    type: 'string',
    help: "JSON file of users, tokens and roles (the zones' auth file): turns authentication on",
  },
  'zone-token': {
    type: 'string',
    help: 'token sent to auth-on zones as Authorization: Bearer (needs read on *)',
  },
  'zone-token-file': { type: 'string', help: 'file holding the zone token (instead of --zone-token)' },
  'zone-ca': { type: 'string', help: "PEM CA bundle for https zones' certificates (default: system roots)" },
  'tls-cert': { type: 'string', help: 'PEM certificate: serve HTTPS and WSS on --listen (reread on SIGHUP)' },
  'tls-key': { type: 'string', help: 'PEM private key of --tls-cert (reread on SIGHUP)' },
} as const satisfies Record<
  string,
  { type: 'string'; help: string; multiple?: boolean; env?: string; envHelp?: string }
>;

type Flag = keyof typeof FEDERATION_FLAGS;

export function federationEnvName(flag: Flag): string {
  const def = FEDERATION_FLAGS[flag] as { env?: string };
  return def.env ?? `CAIRN_${flag.replace(/-/g, '_').toUpperCase()}`;
}

/** The config key a flag sets. */
function keyOf(flag: Flag): string {
  if (flag === 'zone') return 'zones';
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Reads flags, env and config file into a validated config; throws VALIDATION_FAILED listing each problem. */
export function loadFederationConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): FederationConfig {
  let values: Record<string, string | string[] | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(FEDERATION_FLAGS).map(([k, v]) => [
          k,
          { type: v.type, ...('multiple' in v ? { multiple: v.multiple } : {}) },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    }).values as Record<string, string | string[] | undefined>;
  } catch (err) {
    throw new CairnError('VALIDATION_FAILED', (err as Error).message);
  }
  const raw: Record<string, unknown> = {};
  const file = (values['config'] as string | undefined) ?? env[federationEnvName('config')];
  if (file) Object.assign(raw, readConfigFile(file, new Set(Object.keys(federationConfigSchema.shape))));
  for (const flag of Object.keys(FEDERATION_FLAGS) as Flag[]) {
    if (flag === 'config') continue;
    const fromEnv = env[federationEnvName(flag)];
    if (fromEnv !== undefined && fromEnv !== '') raw[keyOf(flag)] = fromEnv;
    const fromFlag = values[flag];
    if (fromFlag !== undefined) raw[keyOf(flag)] = fromFlag;
  }
  const parsed = federationConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CairnError(
      'VALIDATION_FAILED',
      'invalid federation configuration',
      parsed.error.issues.map((i) => ({ field: fieldOf(i.path), message: i.message })),
    );
  }
  const c = parsed.data;
  const problems = securityProblems(c);
  if (problems.length > 0) throw new CairnError('VALIDATION_FAILED', 'invalid federation configuration', problems);
  const zoneToken = c.zoneTokenFile === undefined ? c.zoneToken : readZoneTokenFile(c.zoneTokenFile);
  const auth = c.authFile === undefined ? null : loadAuthFile(c.authFile);
  return { ...c, zoneToken, auth };
}

/** Settings that only make sense together (or apart). */
function securityProblems(c: z.output<typeof federationConfigSchema>): FieldError[] {
  const problems: FieldError[] = [];
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    const missing = c.tlsCert === undefined ? '--tls-cert' : '--tls-key';
    problems.push({ field: missing, message: 'give --tls-cert and --tls-key together' });
  }
  if (c.zoneToken !== undefined && c.zoneTokenFile !== undefined) {
    problems.push({ field: '--zone-token-file', message: 'give --zone-token or --zone-token-file, not both' });
  }
  return problems;
}

/** The zone token from its file: one line, surrounding whitespace ignored. */
function readZoneTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CairnError('VALIDATION_FAILED', 'invalid federation configuration', [
      { field: '--zone-token-file', message: `cannot read ${file}: ${(err as Error).message}` },
    ]);
  }
  const token = bearerToken.safeParse(text.trim());
  if (!token.success) {
    throw new CairnError('VALIDATION_FAILED', 'invalid federation configuration', [
      { field: '--zone-token-file', message: `${file} ${token.error.issues[0]?.message ?? 'holds no token'}` },
    ]);
  }
  return token.data;
}

/** `dropAfterMs` -> `--drop-after-ms`, so errors name what the user typed. */
function fieldOf(path: readonly PropertyKey[]): string {
  const key = String(path[0] ?? '');
  if (key === '') return '(config)';
  if (key === 'zones') return '--zone';
  return `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function federationHelp(): string {
  const lines = Object.entries(FEDERATION_FLAGS).map(([flag, v]) => {
    const env = federationEnvName(flag as Flag);
    const envHelp = 'envHelp' in v ? ` (${v.envHelp})` : '';
    return `  --${flag} <value>`.padEnd(30) + `${v.help}\n${' '.repeat(30)}env ${env}${envHelp}`;
  });
  return (
    'Usage: cairn federation --zone az1=http://host:port,... [--zone az2=...] [options]\n\n' +
    "Serves one merged, cross-zone view of every zone's registry: REST, WebSocket watch, DNS SRV/A and\n" +
    'Nacos-compatible reads. Stateless: run two or more side by side.\n\n' +
    `Options:\n${lines.join('\n')}\n${'  --help'.padEnd(30)}print this help\n`
  );
}
