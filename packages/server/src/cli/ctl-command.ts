import { parseArgs } from 'node:util';
import { Agent, type Dispatcher, fetch as undiciFetch } from 'undici';
import { readCaFile, TlsFileError } from '../tls/tls-material.js';

/**
 * `cairn ctl`: a small admin client over the REST APIs of a zone replica or a federation node.
 * Human-readable tables by default, `--json` for the JSON answers. Exit codes: 0 done, 1 the server
 * refused or could not be reached, 2 a usage error.
 */

const FLAGS = {
  server: { type: 'string', help: 'base URL of a zone replica or a federation node (default http://127.0.0.1:8848)' },
  token: { type: 'string', help: 'bearer token sent as Authorization: Bearer <token>' },
  ca: { type: 'string', help: "PEM CA bundle for an https server's certificate (default: system roots)" },
  username: { type: 'string', help: 'login: the user to sign in as (the password is read from stdin)' },
  json: { type: 'boolean', help: 'print the JSON answer instead of a table' },
  namespace: { type: 'string', help: 'services: only this namespace' },
  group: { type: 'string', help: 'services: only this group' },
  name: { type: 'string', help: 'services: only names containing this text' },
  zone: { type: 'string', help: 'members: the zone to show, when --server is a federation node' },
  'timeout-ms': { type: 'string', help: 'how long to wait for an answer (default 5000)' },
  help: { type: 'boolean', help: 'print this help' },
} as const;

const ENV = { server: 'CAIRN_SERVER', token: 'CAIRN_TOKEN', ca: 'CAIRN_TLS_CA' } as const;
/** A password read from stdin is at most this long (as the server accepts). */
const PASSWORD_CHARS_MAX = 1024;
const DEFAULT_SERVER = 'http://127.0.0.1:8848';
const ZONE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function ctlHelp(): string {
  const flags = Object.entries(FLAGS).map(([f, v]) => {
    const env = f in ENV ? ` (env ${ENV[f as keyof typeof ENV]})` : '';
    return `  --${f}${v.type === 'string' ? ' <value>' : ''}`.padEnd(26) + v.help + env;
  });
  return `Usage: cairn ctl <command> [arguments] [options]

Commands:
  zones                          zone states and weights (federation), or the weights a zone stores (zone replica)
  zone-weight <zone> <0-100>     set a zone's traffic weight; 0 drains it (a zone replica, or a federation
                                 node, which forwards it to the zone)
  services                       services with per-zone instance counts (--namespace, --group, --name)
  members                        a zone's replicas and their Raft state (a zone replica, or a federation
                                 node with --zone)
  leader-transfer <replica-id>   hand the zone's leadership to another voter (a zone replica)
  login --username <user>        sign in (the password is read from stdin) and print the access token,
                                 for --token or CAIRN_TOKEN: TOKEN=$(cairn ctl login --username alice < pw)

Options:
${flags.join('\n')}

Exit codes: 0 done, 1 refused or unreachable, 2 usage error.
`;
}

class UsageError extends Error {}

/** A refusal or an unreachable server: exit code 1. */
class RequestError extends Error {}

interface Ctx {
  readonly server: string;
  readonly token: string | undefined;
  /** Trusts --ca; undefined: the default (system roots). */
  readonly dispatcher: Dispatcher | undefined;
  readonly json: boolean;
  readonly timeoutMs: number;
  readonly values: Record<string, string | boolean | undefined>;
  readonly out: (text: string) => void;
}

export async function ctlCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(FLAGS).map(([k, v]) => [k, { type: v.type }])),
      strict: true,
      allowPositionals: true,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    positionals = parsed.positionals;
  } catch (err) {
    process.stderr.write(`cairn ctl: ${(err as Error).message}\n\n${ctlHelp()}`);
    return 2;
  }
  const [command, ...args] = positionals;
  if (values['help'] || command === 'help') {
    process.stdout.write(ctlHelp());
    return 0;
  }
  if (command === undefined) {
    process.stderr.write(`cairn ctl: name a command\n\n${ctlHelp()}`);
    return 2;
  }
  let ctx: Ctx | null = null;
  try {
    ctx = context(values, env);
    switch (command) {
      case 'zones':
        await zones(ctx, args);
        break;
      case 'zone-weight':
        await zoneWeight(ctx, args);
        break;
      case 'services':
        await services(ctx, args);
        break;
      case 'members':
        await members(ctx, args);
        break;
      case 'leader-transfer':
        await leaderTransfer(ctx, args);
        break;
      case 'login':
        await login(ctx, args);
        break;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cairn ctl: ${err.message}\nRun \`cairn ctl --help\` for the commands.\n`);
      return 2;
    }
    if (err instanceof RequestError) {
      process.stderr.write(`cairn ctl: ${err.message}\n`);
      return 1;
    }
    throw err;
  } finally {
    await (ctx?.dispatcher as Agent | undefined)?.close().catch(() => {});
  }
}

function context(values: Record<string, string | boolean | undefined>, env: NodeJS.ProcessEnv): Ctx {
  const raw = (values['server'] as string | undefined) ?? env[ENV.server] ?? DEFAULT_SERVER;
  let server: string;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
    server = `${url.protocol}//${url.host}`;
  } catch {
    throw new UsageError(`--server '${raw}' must be a URL like http://127.0.0.1:8848`);
  }
  const timeoutRaw = values['timeout-ms'] as string | undefined;
  const timeoutMs = timeoutRaw === undefined ? 5000 : Number(timeoutRaw);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 600_000) {
    throw new UsageError('--timeout-ms must be a whole number of milliseconds from 1 to 600000');
  }
  const token = (values['token'] as string | undefined) ?? env[ENV.token];
  const caFile = (values['ca'] as string | undefined) ?? env[ENV.ca];
  let dispatcher: Dispatcher | undefined;
  if (caFile !== undefined && caFile !== '') {
    try {
      dispatcher = new Agent({ connect: { ca: readCaFile(caFile) } });
    } catch (err) {
      if (err instanceof TlsFileError) throw new UsageError(`--ca ${err.message}`);
      throw err;
    }
  }
  return {
    server,
    token: token === '' ? undefined : token,
    dispatcher,
    json: values['json'] === true,
    timeoutMs,
    values,
    out: (text) => process.stdout.write(text),
  };
}

function noArgs(args: readonly string[], command: string): void {
  if (args.length > 0) throw new UsageError(`${command} takes no arguments (got ${args.join(' ')})`);
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function call(ctx: Ctx, method: string, path: string, body?: unknown, base = ctx.server): Promise<Answer> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (ctx.token) headers['authorization'] = `Bearer ${ctx.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  let res: Awaited<ReturnType<typeof undiciFetch>>;
  try {
    res = await undiciFetch(`${base}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(ctx.dispatcher ? { dispatcher: ctx.dispatcher } : {}),
      signal: AbortSignal.timeout(ctx.timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (err as Error).message;
    throw new RequestError(`cannot reach ${base}: ${why}`);
  }
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed };
}

/** The answer body when it is a success; a RequestError naming the server's code and message otherwise. */
function ok(answer: Answer, what: string): Record<string, unknown> {
  if (answer.status >= 200 && answer.status < 300 && answer.body && typeof answer.body === 'object') {
    return answer.body as Record<string, unknown>;
  }
  const b = answer.body as { code?: unknown; message?: unknown } | null;
  const detail =
    b && typeof b === 'object' && typeof b.message === 'string'
      ? `${String(b.code ?? answer.status)}: ${b.message}`
      : `HTTP ${answer.status}`;
  throw new RequestError(`${what} failed: ${detail}`);
}

function printJson(ctx: Ctx, value: unknown): void {
  ctx.out(`${JSON.stringify(value, null, 2)}\n`);
}

/** Left-aligned columns, two spaces apart. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

function ago(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

// ---------------------------------------------------------------------------------------------
// Commands
// ---------------------------------------------------------------------------------------------

interface ZoneStatusJson {
  zone: string;
  state: string;
  serving: boolean;
  weight: number;
  replica: string | null;
  revision: number;
  services: number;
  instances: number;
  healthyInstances: number;
  staleSinceMs: number | null;
}

async function zones(ctx: Ctx, args: readonly string[]): Promise<void> {
  noArgs(args, 'zones');
  const fed = await call(ctx, 'GET', '/v1/zones');
  if (fed.status !== 404) {
    const body = ok(fed, 'listing zones');
    if (ctx.json) return printJson(ctx, body);
    const list = body['zones'] as ZoneStatusJson[];
    ctx.out(`federation ${ctx.server}  merge ${String(body['mergeMode'])}  revision ${String(body['revision'])}\n`);
    ctx.out(
      table(
        ['ZONE', 'STATE', 'SINCE', 'SERVING', 'WEIGHT', 'SERVICES', 'INSTANCES', 'HEALTHY', 'REVISION', 'REPLICA'],
        list.map((z) => [
          z.zone,
          z.state,
          z.state === 'live' ? '-' : ago(z.staleSinceMs),
          z.serving ? 'yes' : 'no',
          String(z.weight),
          String(z.services),
          String(z.instances),
          String(z.healthyInstances),
          String(z.revision),
          z.replica ?? '-',
        ]),
      ),
    );
    return;
  }
  // A zone replica: the weights its registry stores.
  const weights = ok(await call(ctx, 'GET', '/v1/zones/weights'), 'listing zone weights');
  if (ctx.json) return printJson(ctx, weights);
  const cluster = await call(ctx, 'GET', '/v1/cluster');
  const zone = cluster.status === 200 ? String((cluster.body as { zone?: unknown }).zone ?? '?') : '?';
  ctx.out(`zone registry ${ctx.server} (zone ${zone})  revision ${String(weights['revision'])}\n`);
  const list = weights['weights'] as { zone: string; weight: number }[];
  ctx.out(
    table(
      ['ZONE', 'WEIGHT'],
      list.map((w) => [w.zone, String(w.weight)]),
    ),
  );
}

async function zoneWeight(ctx: Ctx, args: readonly string[]): Promise<void> {
  const [zone, weightText, ...extra] = args;
  if (zone === undefined || weightText === undefined || extra.length > 0) {
    throw new UsageError('zone-weight takes a zone and a weight: cairn ctl zone-weight az1 50');
  }
  if (!ZONE_NAME.test(zone)) throw new UsageError(`'${zone}' is not a zone name (lower-case letters, digits and -)`);
  const weight = Number(weightText);
  if (!/^\d+$/.test(weightText) || weight < 0 || weight > 100) {
    throw new UsageError(`the weight must be a whole number from 0 to 100 (got '${weightText}')`);
  }
  const body = ok(await call(ctx, 'PUT', `/v1/zones/${zone}/weight`, { weight }), `setting the weight of ${zone}`);
  if (ctx.json) return printJson(ctx, body);
  ctx.out(
    `zone ${zone} weight set to ${weight}${weight === 0 ? ' (drained)' : ''} at revision ${String(body['revision'])}\n`,
  );
}

interface FederatedSummaryJson {
  namespace: string;
  group: string;
  service: string;
  total: number;
  healthy: number;
  zones: Record<string, { total: number; healthy: number; serving: number; share: number }>;
}

interface ZoneServiceJson {
  namespace: string;
  group: string;
  service: string;
  instances?: { total: number; healthy: number };
}

async function services(ctx: Ctx, args: readonly string[]): Promise<void> {
  noArgs(args, 'services');
  const q = new URLSearchParams();
  const ns = ctx.values['namespace'] as string | undefined;
  const group = ctx.values['group'] as string | undefined;
  const name = ctx.values['name'] as string | undefined;
  if (ns) q.set('namespace', ns);
  if (group) q.set('group', group);
  if (name) {
    q.set('q', name); // federation
    q.set('name', name); // zone replica
  }
  const query = q.size > 0 ? `?${q.toString()}` : '';
  const body = ok(await call(ctx, 'GET', `/v1/services${query}`), 'listing services');
  if (ctx.json) return printJson(ctx, body);
  const list = body['services'] as (FederatedSummaryJson | ZoneServiceJson)[];
  if (list.length === 0) {
    ctx.out('no services\n');
    return;
  }
  if ('zones' in list[0]!) {
    const rows = (list as FederatedSummaryJson[]).map((s) => [
      s.namespace,
      s.group,
      s.service,
      String(s.total),
      String(s.healthy),
      Object.entries(s.zones)
        .map(([z, c]) => `${z} ${c.healthy}/${c.total} ${Math.round(c.share * 100)}%`)
        .join('  '),
    ]);
    ctx.out(table(['NAMESPACE', 'GROUP', 'SERVICE', 'INSTANCES', 'HEALTHY', 'ZONES (healthy/total share)'], rows));
  } else {
    const rows = (list as ZoneServiceJson[]).map((s) => [
      s.namespace,
      s.group,
      s.service,
      String(s.instances?.total ?? '-'),
      String(s.instances?.healthy ?? '-'),
    ]);
    ctx.out(table(['NAMESPACE', 'GROUP', 'SERVICE', 'INSTANCES', 'HEALTHY'], rows));
  }
  const total = body['total'];
  if (typeof total === 'number' && total > list.length) ctx.out(`(${list.length} of ${total} shown)\n`);
}

interface MemberJson {
  id: string;
  address: string;
  voter: boolean;
  leader: boolean;
  match?: number;
  lag?: number;
  state?: string;
  active?: boolean;
}

async function members(ctx: Ctx, args: readonly string[]): Promise<void> {
  noArgs(args, 'members');
  const zone = ctx.values['zone'] as string | undefined;
  if (zone !== undefined && !ZONE_NAME.test(zone)) throw new UsageError(`'${zone}' is not a zone name`);
  const answer = await call(ctx, 'GET', zone ? `/v1/zones/${zone}/cluster` : '/v1/cluster');
  if (answer.status === 404 && !zone) {
    throw new RequestError(`${ctx.server} has no /v1/cluster: for a federation node, name the zone with --zone`);
  }
  const body = ok(answer, 'reading the cluster');
  if (ctx.json) return printJson(ctx, body);
  ctx.out(
    `zone ${String(body['zone'])}  leader ${String(body['leader'] || '-')}  term ${String(body['term'])}  ` +
      `commit ${String(body['commit'])}  (answered by ${String(body['node'])})\n`,
  );
  const list = (body['members'] as MemberJson[] | undefined) ?? [];
  ctx.out(
    table(
      ['ID', 'ADDRESS', 'ROLE', 'MATCH', 'LAG', 'STATE'],
      list.map((m) => [
        m.id,
        m.address,
        m.leader ? 'leader' : m.voter ? 'voter' : 'learner',
        m.match === undefined ? '-' : String(m.match),
        m.lag === undefined ? '-' : String(m.lag),
        m.state === undefined ? '-' : `${m.state}${m.active === false ? ' (inactive)' : ''}`,
      ]),
    ),
  );
  const replicas = body['replicas'] as { url: string; up: boolean }[] | undefined;
  if (replicas) {
    ctx.out(
      `replicas seen from the federation: ${replicas.map((r) => `${r.url} ${r.up ? 'up' : 'DOWN'}`).join(', ')}\n`,
    );
  }
}

async function leaderTransfer(ctx: Ctx, args: readonly string[]): Promise<void> {
  const [to, ...extra] = args;
  if (to === undefined || extra.length > 0) {
    throw new UsageError(
      'leader-transfer takes the id of the voter to hand leadership to: cairn ctl leader-transfer n2',
    );
  }
  const cluster = ok(await call(ctx, 'GET', '/v1/cluster'), 'reading the cluster');
  const list = (cluster['members'] as MemberJson[] | undefined) ?? [];
  const leader = list.find((m) => m.leader);
  if (!leader) throw new RequestError('the zone has no leader right now; retry shortly');
  if (!list.some((m) => m.id === to && m.voter)) {
    throw new UsageError(
      `'${to}' is not a voter of zone ${String(cluster['zone'])} (voters: ${list
        .filter((m) => m.voter)
        .map((m) => m.id)
        .join(', ')})`,
    );
  }
  // Membership changes go to the leader itself.
  const base = `${new URL(ctx.server).protocol}//${leader.address}`;
  const body = ok(await call(ctx, 'POST', '/v1/cluster/leader', { to }, base), 'transferring leadership');
  if (ctx.json) return printJson(ctx, body);
  ctx.out(`leadership of zone ${String(cluster['zone'])} handed from ${leader.id} to ${to}\n`);
}

async function login(ctx: Ctx, args: readonly string[]): Promise<void> {
  noArgs(args, 'login');
  const username = ctx.values['username'] as string | undefined;
  if (username === undefined || username === '') {
    throw new UsageError('login needs --username; the password is read from stdin');
  }
  const password = await readPassword();
  const body = ok(await call(ctx, 'POST', '/v1/auth/login', { username, password }), `signing in as ${username}`);
  if (ctx.json) return printJson(ctx, body);
  const token = body['accessToken'];
  if (typeof token !== 'string') throw new RequestError('signing in failed: the answer holds no accessToken');
  ctx.out(`${token}\n`);
  process.stderr.write(
    `signed in as ${String(body['username'])}; the token expires in ${String(body['expiresInS'])} s\n`,
  );
}

/** The password: stdin's first line (a pipe, a file, or typed at a terminal, where it echoes). */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('password: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += (chunk as Buffer).toString('utf8');
    if (text.includes('\n') || text.length > PASSWORD_CHARS_MAX + 2) break;
  }
  const password = text.split(/\r?\n/, 1)[0] ?? '';
  if (password === '') throw new UsageError('login: no password on stdin');
  if (password.length > PASSWORD_CHARS_MAX)
    throw new UsageError(`login: the password is over ${PASSWORD_CHARS_MAX} characters`);
  return password;
}
