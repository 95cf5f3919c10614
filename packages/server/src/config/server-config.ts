import { parseArgs } from 'node:util';
import { z } from 'zod';
import { SERVER_LIMIT_FLAGS, serverLimitsShape } from '../api/limits/server-limits.js';
import { type AuthConfig, loadAuthFile } from '../auth/auth-config.js';
import { CairnError, type FieldError } from '../errors.js';
import { hostPortSchema, readConfigFile } from './config-input.js';

/**
 * `cairn server` settings. Each comes from a flag, else an env var (CAIRN_ + the flag in
 * SCREAMING_SNAKE), else a JSON config file (`--config`), else its default. All validated by one schema.
 */

const hostPort = hostPortSchema;

const nodeId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (start with a letter or digit)');

export const serverConfigSchema = z.object({
  zone: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and -')
    .default('default'),
  nodeId: nodeId.default('n1'),
  listen: hostPort.default('0.0.0.0:8848'),
  /** How peers reach this replica; defaults to its entry in `peers`, or to listen with a concrete host. */
  advertise: hostPort.optional(),
  /** "n1=host:port,n2=host:port,..." or an object; empty for a single-node registry. */
  peers: z
    .union([z.string(), z.record(z.string(), z.string())])
    .default('')
    .transform((v, ctx) => parsePeers(v, ctx)),
  dataDir: z.string().min(1).optional(),
  clusterSecret: z.string().min(16, 'must be at least 16 characters').optional(),
  join: z.boolean().default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  tickMs: z.coerce.number().int().min(10).max(1000).default(100),
  electionTicks: z.coerce.number().int().min(3).max(100).default(10),
  snapshotEntries: z.coerce.number().int().min(100).default(20_000),
  /** The auth file (users, tokens, roles): authentication and authorization on; off without it. */
  authFile: z.string().min(1).optional(),
  bodyLimitBytes: z.coerce
    .number()
    .int()
    .min(1024)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** PEM files: with cert and key the port serves HTTPS/WSS and peers are dialed at wss:// (see tls/). */
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  /** The CA bundle that signs the replicas' certificates; default Node's trusted roots. */
  tlsCa: z.string().min(1).optional(),
  /** Mutual TLS between replicas: each presents its certificate, replica routes require one. */
  peerMtls: z.boolean().default(false),
  /** Rate limits, size bounds and timeouts (api/limits/server-limits.ts). */
  ...serverLimitsShape,
});

export type ServerConfig = z.output<typeof serverConfigSchema> & {
  readonly dataDir: string;
  readonly advertise: string;
  readonly clusterSecret: string;
  /** True when no cluster secret was given and the development default is in use. */
  readonly devSecret: boolean;
  /** The loaded auth file; null or absent: authentication is off. */
  readonly auth?: AuthConfig | null;
};

const DEV_SECRET = 'cairn-development-cluster-secret';

function parsePeers(v: string | Record<string, string>, ctx: z.RefinementCtx): Record<string, string> {
  const out: Record<string, string> = {};
  const pairs =
    typeof v === 'string'
      ? v.split(',').filter((p) => p.trim() !== '')
      : Object.entries(v).map(([k, a]) => `${k}=${a}`);
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    const id = pair.slice(0, eq).trim();
    const addr = pair.slice(eq + 1).trim();
    if (eq <= 0 || !nodeId.safeParse(id).success || !hostPort.safeParse(addr).success) {
      ctx.addIssue({ code: 'custom', message: `peer '${pair}' must be id=host:port` });
      continue;
    }
    out[id] = addr;
  }
  return out;
}

/** Flags, their help, and the env var each also reads. */
export const SERVER_FLAGS = {
  config: { type: 'string', help: 'JSON file with any of the settings below (flags and env vars win)' },
  zone: { type: 'string', help: 'availability zone this registry serves (stamped on every instance)' },
  'node-id': { type: 'string', help: 'this replica id, unique in the zone (default n1)' },
  listen: { type: 'string', help: 'host:port for clients, the admin UI and peer links (default 0.0.0.0:8848)' },
  advertise: { type: 'string', help: 'host:port peers use to reach this replica (default: its --peers entry)' },
  peers: { type: 'string', help: 'the zone replicas, id=host:port,... (omit for a single-node registry)' },
  'data-dir': { type: 'string', help: 'where the Raft log and snapshots live (default ./data/<zone>-<node-id>)' },
  'cluster-secret': { type: 'string', help: 'shared secret that authenticates replicas to each other (16+ chars)' },
  join: {
    type: 'boolean',
    help: 'start empty and wait to be added to an existing zone (POST /v1/cluster/members on the leader)',
  },
  'log-level': { type: 'string', help: 'fatal|error|warn|info|debug|trace|silent (default info)' },
  'tick-ms': { type: 'string', help: 'Raft tick in ms (default 100; elections after 10-20 ticks)' },
  'election-ticks': { type: 'string', help: 'ticks without a leader before an election (default 10)' },
  'snapshot-entries': { type: 'string', help: 'entries between automatic snapshots (default 20000)' },
  'auth-file': { type: 'string', help: 'JSON file of users, tokens and roles: turns authentication on (see auth/)' },
  'body-limit-bytes': { type: 'string', help: 'largest accepted request body (default 1 MiB)' },
  'tls-cert': { type: 'string', help: 'PEM certificate: serve HTTPS and WSS, dial peers at wss:// (reread on SIGHUP)' },
  'tls-key': { type: 'string', help: 'PEM private key of --tls-cert (reread on SIGHUP)' },
  'tls-ca': { type: 'string', help: "PEM CA bundle that signs the replicas' certificates (default: system roots)" },
  'peer-mtls': { type: 'boolean', help: 'mutual TLS between replicas: certificates signed by --tls-ca required' },
  ...SERVER_LIMIT_FLAGS,
} as const;

export function envName(flag: string): string {
  return `CAIRN_${flag.replace(/-/g, '_').toUpperCase()}`;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Reads flags, env and config file into a validated config; throws VALIDATION_FAILED listing each problem. */
export function loadServerConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ServerConfig {
  const { values } = parseArgs({
    args: [...argv],
    options: Object.fromEntries(Object.entries(SERVER_FLAGS).map(([k, v]) => [k, { type: v.type }])),
    strict: true,
    allowPositionals: false,
  });
  const raw: Record<string, unknown> = {};
  const file = (values['config'] as string | undefined) ?? env[envName('config')];
  if (file) Object.assign(raw, readConfigFile(file));
  for (const flag of Object.keys(SERVER_FLAGS)) {
    if (flag === 'config') continue;
    const fromEnv = env[envName(flag)];
    if (fromEnv !== undefined)
      raw[camel(flag)] =
        SERVER_FLAGS[flag as keyof typeof SERVER_FLAGS].type === 'boolean'
          ? fromEnv === 'true' || fromEnv === '1'
          : fromEnv;
    const fromFlag = values[flag];
    if (fromFlag !== undefined) raw[camel(flag)] = fromFlag;
  }
  const parsed = serverConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new CairnError(
      'VALIDATION_FAILED',
      'invalid server configuration',
      parsed.error.issues.map((i) => ({ field: i.path.join('.') || '(config)', message: i.message })),
    );
  }
  const c = parsed.data;
  const listenHost = c.listen.slice(0, c.listen.lastIndexOf(':'));
  const listenPort = c.listen.slice(c.listen.lastIndexOf(':') + 1);
  const concreteHost = listenHost === '0.0.0.0' || listenHost === '::' ? '127.0.0.1' : listenHost;
  const advertise = c.advertise ?? c.peers[c.nodeId] ?? `${concreteHost}:${listenPort}`;
  if (Object.keys(c.peers).length > 0 && !c.peers[c.nodeId] && !c.join) {
    throw new CairnError('VALIDATION_FAILED', 'invalid server configuration', [
      { field: 'peers', message: `must include this replica (${c.nodeId}) unless --join is set` },
    ]);
  }
  const tlsProblems = tlsConfigProblems(c);
  if (tlsProblems.length > 0) throw new CairnError('VALIDATION_FAILED', 'invalid server configuration', tlsProblems);
  const auth = c.authFile === undefined ? null : loadAuthFile(c.authFile);
  return {
    ...c,
    auth,
    advertise,
    dataDir: c.dataDir ?? `./data/${c.zone}-${c.nodeId}`,
    clusterSecret: c.clusterSecret ?? DEV_SECRET,
    devSecret: c.clusterSecret === undefined,
  };
}

/** TLS settings that only make sense together. */
function tlsConfigProblems(c: z.output<typeof serverConfigSchema>): FieldError[] {
  const problems: FieldError[] = [];
  if ((c.tlsCert === undefined) !== (c.tlsKey === undefined)) {
    const missing = c.tlsCert === undefined ? 'tlsCert' : 'tlsKey';
    problems.push({ field: missing, message: 'give --tls-cert and --tls-key together' });
  }
  if (c.tlsCa !== undefined && c.tlsCert === undefined) {
    problems.push({ field: 'tlsCa', message: 'needs --tls-cert and --tls-key (the CA is for a TLS zone)' });
  }
  if (c.peerMtls && (c.tlsCert === undefined || c.tlsCa === undefined)) {
    problems.push({ field: 'peerMtls', message: 'needs --tls-cert, --tls-key and --tls-ca' });
  }
  return problems;
}

export function serverHelp(): string {
  const lines = Object.entries(SERVER_FLAGS).map(
    ([flag, v]) =>
      `  --${flag}${v.type === 'string' ? ' <value>' : ''}`.padEnd(34) +
      `${v.help}\n${' '.repeat(34)}env ${envName(flag)}`,
  );
  return `Usage: cairn server [options]\n\nRuns one replica of a zone registry.\n\nOptions:\n${lines.join('\n')}\n`;
}
