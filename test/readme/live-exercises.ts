// How each README command kind that talks to a running system is exercised: run for real (rewritten
// onto the test's ports), then its effect checked through the API.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cairnArgs } from './command-kinds.js';
import { type CurlAnswer, type CurlRequest, parseCurl, runCurl } from './curl-command.js';
import type { LiveCluster, Replica } from './live-cluster.js';
import { getJson, type RunResult, run, sleep, start, until } from './processes.js';
import type { ShellCommand } from './readme-shell.js';
import { flagValue, README_PORTS } from './rewrite.js';

interface InstanceJson {
  ip: string;
  port: number;
  healthy: boolean;
  enabled: boolean;
  weight: number;
  zone: string;
}
interface ServiceJson {
  instances: InstanceJson[];
}
interface MemberJson {
  id: string;
  voter: boolean;
}

/** Instances the README registered and has not deregistered: `zone|namespace|group|service` -> `ip:port`. */
export type Registered = Map<string, Set<string>>;

const key = (zone: string, ns: string, group: string, service: string) => `${zone}|${ns}|${group}|${service}`;

async function serviceOf(url: string, ns: string, group: string, service: string): Promise<InstanceJson[]> {
  const res = await fetch(`${url}/v1/services/${ns}/${group}/${service}?consistent=true`);
  if (res.status === 404) return [];
  assert.equal(res.status, 200, `GET ${service} on ${url}`);
  return ((await res.json()) as ServiceJson).instances;
}

const find = (list: InstanceJson[], ip: string, port: number) => list.find((i) => i.ip === ip && i.port === port);

/** What a curl did, for the checks: the request, its answer, and the replica or federation it went to. */
interface CurlRun {
  readonly req: CurlRequest;
  readonly answer: CurlAnswer;
  readonly role: string;
  readonly replica: Replica | undefined;
}

interface CurlEffect {
  readonly what: string;
  readonly method: string;
  readonly path: RegExp;
  /** Run the command again until it answers 2xx (the README says to retry: "once it has caught up"). */
  readonly retryUntilOk?: boolean;
  /** Before the command runs: make the live system what the README assumes. */
  readonly before?: (live: LiveCluster, r: Omit<CurlRun, 'answer'>) => Promise<void>;
  /** Throws while the effect is not there; the command is run again until it holds (bounded). */
  readonly check: (live: LiveCluster, r: CurlRun, m: RegExpExecArray, registered: Registered) => Promise<void>;
  /** A read whose answer may lag the write before it: run the command again until the check holds. */
  readonly rereadUntil?: boolean;
}

function instanceIdentity(r: CurlRun): { ns: string; group: string; service: string; ip: string; port: number } {
  const q = r.req.url.searchParams;
  const b = (r.req.body ? JSON.parse(r.req.body) : {}) as Record<string, unknown>;
  const s = (k: string) => (b[k] as string | undefined) ?? q.get(k) ?? undefined;
  return {
    ns: s('namespace') ?? q.get('namespaceId') ?? 'public',
    group: s('group') ?? q.get('groupName') ?? 'DEFAULT_GROUP',
    service: s('service') ?? q.get('serviceName') ?? '',
    ip: s('ip') ?? '',
    port: Number(b['port'] ?? q.get('port')),
  };
}

/** A registration (native or Nacos): the instance is listed on the replica it was sent to. */
async function listed(_live: LiveCluster, r: CurlRun, _m: RegExpExecArray, registered: Registered): Promise<void> {
  const id = instanceIdentity(r);
  assert.ok(find(await serviceOf(r.replica!.url, id.ns, id.group, id.service), id.ip, id.port), 'not listed');
  const k = key(r.replica!.zone, id.ns, id.group, id.service);
  registered.set(k, (registered.get(k) ?? new Set()).add(`${id.ip}:${id.port}`));
}

const ZONE_EFFECTS: readonly CurlEffect[] = [
  { what: 'the instance is listed', method: 'POST', path: /^\/v1\/instances$/, check: listed },
  { what: 'the instance is listed', method: 'POST', path: /^\/nacos\/v1\/ns\/instance$/, check: listed },
  {
    what: 'the heartbeat renews the lease',
    method: 'PUT',
    path: /^\/v1\/instances\/heartbeat$/,
    async check(_live, r) {
      assert.equal(typeof (r.answer.json as { revision?: unknown }).revision, 'number');
    },
  },
  {
    what: 'the instance has the changed fields',
    method: 'PATCH',
    path: /^\/v1\/instances$/,
    async check(_live, r) {
      const id = instanceIdentity(r);
      const body = JSON.parse(r.req.body ?? '{}') as Record<string, unknown>;
      const got = find(await serviceOf(r.replica!.url, id.ns, id.group, id.service), id.ip, id.port);
      assert.ok(got, 'instance gone');
      for (const field of ['enabled', 'weight', 'healthy'] as const) {
        if (field in body) assert.equal(got[field], body[field], field);
      }
    },
  },
  {
    what: 'the instance is gone',
    method: 'DELETE',
    path: /^\/v1\/instances$/,
    async check(_live, r, _m, registered) {
      const id = instanceIdentity(r);
      assert.equal(find(await serviceOf(r.replica!.url, id.ns, id.group, id.service), id.ip, id.port), undefined);
      registered.get(key(r.replica!.zone, id.ns, id.group, id.service))?.delete(`${id.ip}:${id.port}`);
    },
  },
  {
    what: 'the answer lists what the README registered there',
    method: 'GET',
    path: /^\/v1\/services\/([^/]+)\/([^/]+)\/([^/]+)$/,
    rereadUntil: true,
    async check(_live, r, m, registered) {
      const list = (r.answer.json as ServiceJson).instances;
      for (const addr of registered.get(key(r.replica!.zone, m[1]!, m[2]!, m[3]!)) ?? []) {
        assert.ok(
          list.some((i) => `${i.ip}:${i.port}` === addr),
          `${addr} missing from ${r.answer.text}`,
        );
      }
      if (r.req.url.searchParams.get('healthyOnly') === 'true') assert.ok(list.every((i) => i.healthy));
    },
  },
  {
    what: 'the replica is a learner',
    method: 'POST',
    path: /^\/v1\/cluster\/members$/,
    before: (live, r) => live.makeLeader(r.replica!),
    async check(live, r) {
      const { id } = JSON.parse(r.req.body ?? '{}') as { id: string };
      const m = (await live.cluster(r.replica!)).members.find((x) => x.id === id);
      assert.equal(m?.voter, false, `${id} not a learner`);
    },
  },
  {
    what: 'the learner is a voter',
    method: 'POST',
    path: /^\/v1\/cluster\/members\/([^/]+)\/promote$/,
    retryUntilOk: true,
    before: (live, r) => live.makeLeader(r.replica!),
    async check(live, r, m) {
      const member = (await live.cluster(r.replica!)).members.find((x: MemberJson) => x.id === m[1]);
      assert.equal(member?.voter, true);
    },
  },
  {
    what: 'the replica is no longer a member',
    method: 'DELETE',
    path: /^\/v1\/cluster\/members\/([^/]+)$/,
    before: (live, r) => live.makeLeader(r.replica!),
    async check(live, r, m) {
      const ids = (await live.cluster(r.replica!)).members.map((x) => x.id);
      assert.ok(!ids.includes(m[1]!), `still a member: ${ids.join(',')}`);
      // The removed replica's process has nothing left to do.
      const gone = live.replicas.find((x) => x.zone === r.replica!.zone && x.id === m[1]);
      await gone?.proc?.stop('SIGTERM');
    },
  },
];

const FEDERATION_EFFECTS: readonly CurlEffect[] = [
  {
    what: 'every zone is listed',
    method: 'GET',
    path: /^\/v1\/zones$/,
    async check(live, r) {
      const names = (r.answer.json as { zones: { zone: string }[] }).zones.map((z) => z.zone).sort();
      assert.deepEqual(names, [...live.federationZones.keys()].sort());
    },
  },
  {
    what: 'the service searched for is listed',
    method: 'GET',
    path: /^\/v1\/services$/,
    async check(_live, r) {
      const q = r.req.url.searchParams.get('q') ?? '';
      const names = (r.answer.json as { services: { service: string }[] }).services.map((s) => s.service);
      assert.ok(names.includes(q), `${q} not in ${names.join(',')}`);
    },
  },
  {
    what: 'the merged service has instances from every zone',
    method: 'GET',
    path: /^\/v1\/services\/[^/]+\/[^/]+\/[^/]+$/,
    rereadUntil: true,
    async check(live, r) {
      const zones = new Set((r.answer.json as { service: ServiceJson }).service.instances.map((i) => i.zone));
      assert.deepEqual([...zones].sort(), [...live.federationZones.keys()].sort());
    },
  },
  {
    what: 'the merged Nacos list has hosts',
    method: 'GET',
    path: /^\/nacos\/v1\/ns\/instance\/list$/,
    async check(_live, r) {
      assert.ok((r.answer.json as { hosts: unknown[] }).hosts.length > 0, r.answer.text);
    },
  },
];

/** Runs a README curl and checks its answer is 2xx and, where the table knows it, its effect. */
export async function exerciseCurl(live: LiveCluster, c: ShellCommand, registered: Registered): Promise<string> {
  const argv = live.rw.argv(c.argv, { loopback: true }).slice(1);
  const req = parseCurl(argv);
  const readmePort = live.rw.readmePortOf(Number(req.url.port));
  const role = readmePort === undefined ? 'unknown' : README_PORTS[readmePort]!;
  const replica = live.at(req.url.origin);
  const table = role === 'federation' ? FEDERATION_EFFECTS : replica ? ZONE_EFFECTS : [];
  if (role !== 'federation' && !replica)
    throw new Error(`nothing runs at ${req.url.origin} (README port ${readmePort})`);
  const effect = table.find((e) => e.method === req.method && e.path.test(req.url.pathname));
  const m = effect?.path.exec(req.url.pathname) ?? null;
  await effect?.before?.(live, { req, role, replica });

  const okDeadline = Date.now() + 30_000;
  const rereadDeadline = Date.now() + 5000;
  for (;;) {
    const answer = await runCurl(argv);
    const ok = answer.status >= 200 && answer.status < 300;
    if (!ok && effect?.retryUntilOk && Date.now() < okDeadline) {
      await sleep(250);
      continue;
    }
    assert.ok(ok, `${c.text}\n-> HTTP ${answer.status} ${answer.text}`);
    if (!effect) return `answered ${answer.status}`;
    const r: CurlRun = { req, answer, role, replica };
    const done = `answered ${answer.status}; ${effect.what}`;
    try {
      if (effect.rereadUntil) await effect.check(live, r, m!, registered);
      else
        await until(
          effect.what,
          async () => {
            await effect.check(live, r, m!, registered);
            return true;
          },
          10_000,
        );
      return done;
    } catch (err) {
      if (effect.rereadUntil && Date.now() < rereadDeadline) {
        await sleep(200);
        continue;
      }
      throw new Error(`${c.text}\n-> ${answer.status} ${answer.text}\n${effect.what}: ${(err as Error).message}`);
    }
  }
}

async function ctl(live: LiveCluster, args: readonly string[]): Promise<RunResult> {
  return run(process.execPath, [live.cli, ...args], { timeoutMs: 30_000 });
}

/** Runs a README `cairn ctl` command and checks what it did. */
export async function exerciseCtl(live: LiveCluster, c: ShellCommand): Promise<string> {
  const args = [...cairnArgs(live.rw.argv(c.argv))!];
  const [, sub, ...rest] = args;
  const server = flagValue(args, '--server') ?? 'http://127.0.0.1:8848';
  const replica = live.at(server);
  const isFederation = server === live.federationUrl;
  if (sub === 'leader-transfer') {
    // A transfer to the replica that already leads would show nothing: start from another leader.
    const to = live.replica(replica!.zone, rest[0]!);
    if ((await live.leader(to.zone)) === to) {
      await live.makeLeader(live.replicas.find((x) => x.zone === to.zone && x !== to && x.proc?.alive)!);
    }
  }
  const r = await ctl(live, args);
  assert.equal(r.code, 0, `${c.text}\n${r.stdout}${r.stderr}`);
  switch (sub) {
    case 'members': {
      const view = await live.cluster(replica!);
      for (const m of view.members) assert.match(r.stdout, new RegExp(`^${m.id}\\s`, 'm'));
      assert.match(r.stdout, /leader/);
      return `listed ${view.members.map((m) => m.id).join(' ')}`;
    }
    case 'zone-weight': {
      const [zone, weightText] = rest;
      const weight = Number(weightText);
      const stored = await getJson<{ weights: { zone: string; weight: number }[] }>(
        `${server}/v1/zones/weights?consistent=true`,
      );
      assert.equal(stored.weights.find((w) => w.zone === zone)?.weight, weight);
      await until(`the federation to apply ${zone} weight ${weight}`, async () => {
        const z = await getJson<{ zones: { zone: string; weight: number }[] }>(`${live.federationUrl}/v1/zones`);
        return z.zones.find((x) => x.zone === zone)?.weight === weight ? true : undefined;
      });
      return `${zone} weight ${weight} stored and applied by the federation`;
    }
    case 'zones': {
      const zones = isFederation ? [...live.federationZones.keys()] : [replica!.zone];
      for (const z of zones) assert.match(r.stdout, new RegExp(`^${z}\\s+${isFederation ? 'live' : ''}`, 'm'));
      return `listed ${zones.join(' ')}`;
    }
    case 'leader-transfer': {
      const to = live.replica(replica!.zone, rest[0]!);
      await until(`${to.id} to lead`, async () => ((await live.leader(to.zone)) === to ? true : undefined));
      return `leadership moved to ${to.id}`;
    }
    default:
      assert.ok(r.stdout.length > 0);
      return 'exit 0';
  }
}

/** Runs a README `dig` against the federation's DNS and checks for an SRV answer. */
export async function exerciseDig(live: LiveCluster, c: ShellCommand): Promise<string> {
  const argv = live.rw.argv(c.argv);
  const r = await run(argv[0]!, argv.slice(1), { timeoutMs: 20_000 });
  assert.equal(r.code, 0, `${c.text}\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /status: NOERROR/, r.stdout);
  const srv = r.stdout.split('\n').filter((l) => /\sIN\s+SRV\s/.test(l) && !l.startsWith(';'));
  assert.ok(srv.length > 0, `no SRV answer:\n${r.stdout}`);
  return `${srv.length} SRV record(s)`;
}

export async function exerciseHaproxyCheck(root: string, c: ShellCommand): Promise<string> {
  const r = await run(c.argv[0]!, c.argv.slice(1), { cwd: root, env: { ...c.env } });
  assert.equal(r.code, 0, `${c.text}\n${r.stdout}${r.stderr}`);
  return 'config valid';
}

/**
 * Starts a README `haproxy -f` on the federation's DNS with its frontends moved to free ports (the
 * config's fixed 8080/8081/8404 may be taken on a shared machine), checks it stays up and serves its
 * stats page, then stops it.
 */
export async function exerciseHaproxyRun(
  live: LiveCluster,
  root: string,
  c: ShellCommand,
  freePort: () => Promise<number>,
): Promise<string> {
  const argv = live.rw.argv(c.argv);
  const cfgIndex = argv.indexOf('-f') + 1;
  assert.ok(cfgIndex > 0, 'haproxy without -f');
  let cfg = readFileSync(join(root, argv[cfgIndex]!), 'utf8');
  let statsPort = 0;
  const sections = cfg.split(/\n(?=\S)/);
  for (const [i, section] of sections.entries()) {
    const bind = /^(\s*bind\s+)\*?:(\d+)\s*$/m.exec(section);
    if (!bind) continue;
    const port = await freePort();
    if (/^\s*stats enable/m.test(section)) statsPort = port;
    sections[i] = section.replace(bind[0], `${bind[1]}127.0.0.1:${port}`);
  }
  cfg = sections.join('\n');
  assert.ok(statsPort > 0, 'no stats frontend found in the config');
  const file = join(live.cwd, 'haproxy.cfg');
  writeFileSync(file, cfg);
  argv[cfgIndex] = file;
  const proc = start('haproxy', argv[0]!, argv.slice(1), { env: live.rw.env(c.env), cwd: root });
  live.procs.push(proc);
  try {
    await sleep(1000);
    assert.ok(proc.alive, `haproxy exited:\n${proc.output}`);
    const stats = await until('the stats page', async () => {
      const res = await fetch(`http://127.0.0.1:${statsPort}/;csv`, { signal: AbortSignal.timeout(2000) });
      return res.ok ? await res.text() : undefined;
    });
    assert.match(stats, /^orders_all,/m);
    assert.ok(proc.alive, `haproxy exited:\n${proc.output}`);
    return 'stayed up and served its stats page';
  } finally {
    await proc.stop('SIGTERM', 5000);
  }
}
