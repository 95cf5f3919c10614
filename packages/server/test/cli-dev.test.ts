import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { Resolver } from 'node:dns/promises';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { planCluster, portsOf } from '../src/cli/dev/cluster-plan.js';
import { resolveSdkDemo } from '../src/cli/dev/demo-launcher.js';
import { prepareDataDir } from '../src/cli/dev/dev-data-dir.js';
import { DevUsageError, parseDevOptions } from '../src/cli/dev/dev-options.js';
import { renderSummary } from '../src/cli/dev/dev-summary.js';
import { busyPorts } from '../src/cli/dev/port-check.js';
import { CLI } from './helpers/zone-cluster.js';

const run = promisify(execFile);
const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;

function options(over: Partial<Parameters<typeof planCluster>[0]> = {}): Parameters<typeof planCluster>[0] {
  return {
    zones: 2,
    replicas: 3,
    basePort: 8848,
    federationPort: undefined,
    dnsPort: undefined,
    dataDir: '/d',
    ...over,
  };
}

describe('cairn dev: the cluster plan', () => {
  it('places two zones of three replicas, the federation on 8900 and its DNS on 8600 by default', () => {
    const plan = planCluster(options());
    assert.deepEqual(
      plan.zones.map((z) => [z.zone, z.replicas.map((r) => r.port)]),
      [
        ['az1', [8848, 8849, 8850]],
        ['az2', [9848, 9849, 9850]],
      ],
    );
    assert.equal(plan.federation.httpPort, 8900);
    assert.equal(plan.federation.dnsPort, 8600);
    assert.equal(plan.zones[1]!.replicas[2]!.dataDir, '/d/az2-n3');
  });

  it('follows --zones, --replicas and --base-port, with every port distinct', () => {
    const plan = planCluster(options({ zones: 3, replicas: 5, basePort: 20_000 }));
    assert.deepEqual(
      plan.zones.map((z) => z.replicas.map((r) => r.id).join(',')),
      ['n1,n2,n3,n4,n5', 'n1,n2,n3,n4,n5', 'n1,n2,n3,n4,n5'],
    );
    assert.deepEqual(plan.zones[2]!.replicas.map((r) => r.port).slice(0, 2), [22_000, 22_001]);
    assert.equal(plan.federation.httpPort, 20_052);
    assert.equal(plan.federation.dnsPort, 19_752);
    const { tcp } = portsOf(plan);
    assert.equal(new Set(tcp).size, tcp.length);
    const biggest = planCluster(options({ zones: 9, replicas: 7 }));
    assert.equal(new Set(portsOf(biggest).tcp).size, 9 * 7 + 2);
  });

  it('refuses ports that collide or fall outside 1024-65535, naming the flag to change', () => {
    assert.throws(
      () => planCluster(options({ dnsPort: 8849 })),
      /DNS and az1\/n2 would both listen on port 8849: change --dns-port/,
    );
    assert.throws(() => planCluster(options({ federationPort: 8600 })), /both listen on port 8600/);
    assert.throws(() => planCluster(options({ basePort: 1100 })), /port 852, outside 1024-65535/);
    assert.throws(() => planCluster(options({ zones: 9, basePort: 60_000 })), /az7\/n1 would listen on port 66000/);
  });

  it('parses flags, and refuses bad ones with a message', () => {
    const o = parseDevOptions(['--zones', '3', '--replicas', '5', '--no-demo', '--data-dir', 'x'], '/work');
    assert.deepEqual(o, {
      zones: 3,
      replicas: 5,
      basePort: 8848,
      federationPort: undefined,
      dnsPort: undefined,
      dataDir: '/work/x',
      reset: false,
      demo: false,
    });
    assert.equal(parseDevOptions(['--help']), null);
    assert.throws(() => parseDevOptions(['--zones', 'lots']), DevUsageError);
    assert.throws(() => parseDevOptions(['--replicas', '8']), /--replicas must be a whole number from 1 to 7/);
    assert.throws(() => parseDevOptions(['--bogus']), DevUsageError);
  });

  it('keeps the data between runs, refuses another replica count on it, and --reset starts fresh', (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dev-plan-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const plan = planCluster(options({ dataDir: dir }));
    const secret = prepareDataDir(plan, false);
    for (const r of plan.zones[0]!.replicas) mkdirSync(r.dataDir);
    assert.equal(prepareDataDir(plan, false), secret, 'the cluster secret is kept');
    const five = planCluster(options({ dataDir: dir, replicas: 5 }));
    assert.throws(
      () => prepareDataDir(five, false),
      /has 3 replicas in az1, not 5: start with --replicas 3, or add --reset/,
    );
    assert.notEqual(prepareDataDir(five, true), secret, '--reset deletes everything');
    assert.deepEqual(readdirSync(dir), ['cluster-secret']);
  });

  it('finds the SDK demo program at run time, and reports it missing when the SDK is not installed', () => {
    const found = resolveSdkDemo();
    assert.ok(found?.endsWith(join('client-sdk', 'dist', 'src', 'demo', 'demo-services.js')), String(found));
    assert.equal(
      resolveSdkDemo(() => {
        throw Object.assign(new Error('not found'), { code: 'ERR_MODULE_NOT_FOUND' });
      }),
      null,
    );
    assert.equal(
      resolveSdkDemo(() => 'file:///nowhere/demo-services.js'),
      null,
    );
  });

  it('says in the summary how the demo was registered', () => {
    const plan = planCluster(options());
    const leaders = new Map([
      ['az1', 'n2'],
      ['az2', 'n1'],
    ]);
    const rest = renderSummary(plan, leaders, {
      via: 'rest',
      instances: [{ service: 'orders', zone: 'az1', url: 'http://10.1.0.1:8080' }],
    });
    assert.match(rest, /registered over REST/);
    assert.match(rest, /dig @127\.0\.0\.1 -p 8600 _orders\._tcp\.service\.cairn SRV/);
    assert.match(rest, /az1 {4}n2 {6}n1 :8848 {3}n2 :8849 {3}n3 :8850/);
    const off = renderSummary(plan, leaders, 'off');
    assert.match(off, /_hello\._tcp\.service\.cairn SRV {3}\(after the curl\)/);
  });
});

// -------------------------------------------------------------------------------------------------
// Real processes
// -------------------------------------------------------------------------------------------------

interface Dev {
  readonly proc: ChildProcess;
  output(): string;
  /** Waits until the output matches. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** Sends the signal and resolves with the exit code. */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

function startDev(args: readonly string[]): Dev {
  const proc = spawn(process.execPath, [CLI, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  proc.stderr!.on('data', (b: Buffer) => {
    out += b.toString();
  });
  const exited = new Promise<number | null>((done) => proc.once('exit', (code) => done(code)));
  return {
    proc,
    output: () => out,
    waitFor: async (pattern, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(pattern);
        if (m) return m;
        if (proc.exitCode !== null || Date.now() > deadline) {
          throw new Error(`cairn dev did not print ${pattern}:\n${out}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    stop: async (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** The pids whose parent is `pid` (Linux /proc). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces, so read after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** Whether the process still runs (a zombie nobody reaped yet counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A base port whose whole default layout is free now (below the ephemeral range). */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 21_000 + Math.floor(Math.random() * 9000);
    const plan = planCluster(options({ basePort: base }));
    if ((await busyPorts(portsOf(plan))).length === 0) return base;
  }
  throw new Error('no free base port');
}

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  assert.equal(res.status, 200, `${url}: ${res.status}`);
  return (await res.json()) as T;
}

/** SRV answers as [port, target]; with dig when installed, else Node's resolver. */
async function srv(digLine: string): Promise<{ port: number; name: string }[]> {
  const m = /^dig @([\d.]+) -p (\d+) (\S+) SRV$/.exec(digLine);
  assert.ok(m, `a dig command: ${digLine}`);
  if (has('dig')) {
    const args = [`@${m[1]}`, '-p', m[2]!, m[3]!, 'SRV', '+short', '+time=2', '+tries=2'];
    const { stdout } = await run('dig', args);
    return stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => {
        const [, , port, name] = l.split(' ');
        return { port: Number(port), name: name! };
      });
  }
  const resolver = new Resolver({ timeout: 2000, tries: 2 });
  resolver.setServers([`${m[1]}:${m[2]}`]);
  return (await resolver.resolveSrv(m[3]!)).map((r) => ({ port: r.port, name: `${r.name}.` }));
}

/** Runs the printed curl command: through sh when curl is installed, else replayed with fetch. */
async function runCurl(line: string): Promise<{ instance: { service: string; zone: string } }> {
  if (has('curl')) {
    const { stdout } = await run('sh', ['-c', line]);
    return JSON.parse(stdout);
  }
  const m = /^curl -s -XPOST (\S+) -H '([^:]+): ([^']+)' -d '([^']+)'$/.exec(line);
  assert.ok(m, `a curl command: ${line}`);
  const res = await fetch(m[1]!, { method: 'POST', headers: { [m[2]!]: m[3]! }, body: m[4]! });
  return (await res.json()) as { instance: { service: string; zone: string } };
}

interface FederatedServices {
  services: { service: string; zones: Record<string, { total: number; healthy: number }> }[];
}
interface FederatedService {
  service: { instances: { zone: string; port: number; ephemeral: boolean; metadata: Record<string, string> }[] };
}

describe('cairn dev: a real cluster', { timeout: 180_000 }, () => {
  it('starts zones, a federation and SDK demo services; its commands work; Ctrl-C stops every process; data survives', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dev-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const base = await freeBasePort();
    const args = ['--data-dir', dir, '--base-port', String(base)];
    const fed = `http://127.0.0.1:${base + 52}`;

    const first = startDev(args);
    t.after(() => first.stop('SIGKILL'));
    await first.waitFor(/cairn is running[\s\S]*Ctrl-C stops everything/, 90_000);
    const out = first.output();
    // Progress: every replica, each zone's leader, the federation, the demo.
    for (const z of ['az1', 'az2']) {
      for (const n of ['n1', 'n2', 'n3']) assert.match(out, new RegExp(`${z}/${n} +up on 127\\.0\\.0\\.1:\\d+`));
      assert.match(out, new RegExp(`${z} +leader elected: n\\d`));
    }
    assert.match(out, /federation live with az1, az2 \(HTTP 127\.0\.0\.1:\d+, DNS 127\.0\.0\.1:\d+\)/);
    assert.match(out, /demo registered through the SDK: orders, payments, inventory \(10 instances in az1, az2\)/);

    // Both zones have the leader the table shows.
    for (const [zone, port] of [
      ['az1', base],
      ['az2', base + 1000],
    ] as const) {
      const row = out.match(new RegExp(`^  ${zone} +(n\\d) +n1 :${port} `, 'm'));
      assert.ok(row, `a table row for ${zone}:\n${out}`);
      const cluster = await json<{ leader: string }>(`http://127.0.0.1:${port + 1}/v1/cluster`);
      assert.equal(cluster.leader, row[1]);
    }

    // The federation sees both zones live, and the demo services in both, registered through the SDK.
    const zones = await json<{ zones: { zone: string; state: string }[] }>(`${fed}/v1/zones`);
    assert.deepEqual(
      zones.zones.map((z) => [z.zone, z.state]),
      [
        ['az1', 'live'],
        ['az2', 'live'],
      ],
    );
    const services = await json<FederatedServices>(`${fed}/v1/services`);
    for (const [name, count] of [
      ['orders', 2],
      ['payments', 2],
      ['inventory', 1],
    ] as const) {
      const s = services.services.find((x) => x.service === name);
      assert.equal(s?.zones['az1']?.healthy, count, `${name} in az1`);
      assert.equal(s?.zones['az2']?.healthy, count, `${name} in az2`);
    }
    const orders = await json<FederatedService>(`${fed}/v1/services/public/DEFAULT_GROUP/orders`);
    assert.ok(orders.service.instances.every((i) => i.ephemeral && i.metadata['demo'] === 'true'));

    // A demo instance serves HTTP and calls payments in its own zone through the SDK.
    const call = await first.waitFor(/curl -s (http:\/\/127\.0\.0\.1:\d+\/call)/, 0);
    const called = await json<{ service: string; zone: string; called: { answer: { service: string; zone: string } } }>(
      call[1]!,
    );
    assert.equal(called.service, 'orders');
    assert.deepEqual([called.called.answer.service, called.called.answer.zone], ['payments', called.zone]);

    // DNS answers SRV for the demo service: one record per orders instance.
    const dig = (await first.waitFor(/^ {2}(dig .*)$/m, 0))[1]!;
    assert.match(dig, /_orders\._tcp\.service\.cairn SRV$/);
    const records = await srv(dig);
    assert.deepEqual(records.map((r) => r.port).sort(), orders.service.instances.map((i) => i.port).sort());
    assert.ok(records.every((r) => r.name === '127-0-0-1.addr.cairn.'));

    // The admin UI, on the federation and on a zone.
    for (const m of out.matchAll(/(http:\/\/\S+\/ui\/)/g)) {
      const res = await fetch(m[1]!);
      assert.equal(res.status, 200, m[1]);
      assert.match(await res.text(), /<html/i);
    }

    // The printed curl command works as printed, and its instance reaches the federation.
    const curl = (await first.waitFor(/^ {2}(curl -s -XPOST .*)$/m, 0))[1]!;
    const registered = await runCurl(curl);
    assert.deepEqual([registered.instance.service, registered.instance.zone], ['hello', 'az1']);

    // Ctrl-C: every child goes, demo first, then the federation, then the replicas.
    const children = childPids(first.proc.pid!);
    assert.equal(children.length, 6 + 1 + 2, `six replicas, a federation and two demo processes: ${children}`);
    assert.equal(await first.stop('SIGINT'), 0);
    assert.match(
      first.output(),
      /stopping 2 demo processes\n {2}stopping the federation\n {2}stopping 6 replicas\ncairn dev: stopped/,
    );
    assert.deepEqual(
      children.filter((pid) => alive(pid)),
      [],
      'no process outlives cairn dev',
    );

    // Starting again reuses the data: the persistent registration is there, the demo's session instances are not.
    const second = startDev([...args, '--no-demo']);
    t.after(() => second.stop('SIGKILL'));
    await second.waitFor(/cairn is running/, 90_000);
    const hello = await json<FederatedService>(`${fed}/v1/services/public/DEFAULT_GROUP/hello`);
    assert.deepEqual(
      hello.service.instances.map((i) => [i.zone, i.port, i.ephemeral]),
      [['az1', 3000, false]],
    );
    const az1Orders = await json<{ instances: unknown[] }>(
      `http://127.0.0.1:${base}/v1/services/public/DEFAULT_GROUP/orders`,
    );
    assert.equal(az1Orders.instances.length, 0, 'the demo deregistered when it stopped');
    const secondChildren = childPids(second.proc.pid!);
    assert.equal(secondChildren.length, 7);
    // SIGTERM stops it the same way.
    assert.equal(await second.stop('SIGTERM'), 0);
    assert.deepEqual(
      secondChildren.filter((pid) => alive(pid)),
      [],
    );
  });

  it('leaves no orphan when it is killed outright: each child stops itself', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dev-orphan-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const processesUrl = new URL('../src/cli/dev/dev-processes.js', import.meta.url).href;
    // A stand-in for cairn dev: it starts one child the way cairn dev does, prints its pid, and waits.
    const script = [
      `import { DevProcesses } from ${JSON.stringify(processesUrl)};`,
      'const p = new DevProcesses(() => {});',
      `const c = p.start({ name: 'child', tier: 'replica', logFile: ${JSON.stringify(join(dir, 'child.log'))},`,
      `  args: ['-e', "process.on('SIGTERM', () => { console.log('stopping cleanly'); process.exit(0); }); setInterval(() => {}, 1000);"] });`,
      'console.log(c.pid);',
      'setInterval(() => {}, 1000);',
    ].join('\n');
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => parent.kill('SIGKILL'));
    const pid = await new Promise<number>((resolve) => parent.stdout!.once('data', (b: Buffer) => resolve(Number(b))));
    assert.ok(alive(pid));
    parent.kill('SIGKILL');
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(alive(pid), false, 'the child stopped when its parent died');
    assert.match(readFileSync(join(dir, 'child.log'), 'utf8'), /stopping cleanly/, 'through its SIGTERM handler');
  });

  it('refuses bad options with a usage message, and ports already taken', async (t) => {
    const runDev = async (args: string[]) => {
      const proc = spawn(process.execPath, [CLI, 'dev', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      proc.stderr.on('data', (b: Buffer) => {
        err += b.toString();
      });
      const code = await new Promise<number | null>((done) => proc.once('exit', (c) => done(c)));
      return { code, err };
    };
    const bad = await runDev(['--zones', 'lots']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--zones must be a whole number/);

    const base = await freeBasePort();
    const taken = createServer().listen(base + 1000, '127.0.0.1');
    await once(taken, 'listening');
    t.after(() => taken.close());
    const dir = mkdtempSync(join(tmpdir(), 'cairn-dev-busy-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const busy = await runDev(['--base-port', String(base), '--data-dir', dir]);
    assert.equal(busy.code, 1);
    assert.match(busy.err, new RegExp(`ports already in use on 127\\.0\\.0\\.1: ${base + 1000}/tcp`));
    assert.match(busy.err, /Is another cairn dev running\?/);
  });
});
