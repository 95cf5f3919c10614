// The federation proven with a real gateway (issue 5): two zones of three `cairn server` processes, one
// `cairn federation` process, ten tiny `orders` instance processes (5 registered in az1, 5 in az2, each
// heartbeating itself) and HAProxy 2.6 with a `server-template` backend filled from the federation's
// DNS (`_orders._tcp.service.cairn`, `hold valid 1s`). HAProxy's own health checks and redispatch are
// off, so only the registry path can take a server out. Counting which instance answered each request:
//   1. all 10 instances take traffic, about 50/50 per zone;
//   2. SIGKILL 4 az1 instances: HAProxy stops sending to them within 5 s, then no request fails and
//      az1's share is 1/6;
//   3. az1's zone weight 0: within 5 s az1 gets nothing; back to 100: az1 takes traffic again;
//   4. az1's registry replicas all stopped: az2 undisturbed; az1 follows the default policy `keep`
//      (its last known instance keeps serving, marked stale).
// Convergence times are printed (not asserted: the machine may be shared).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type Child, killOnExit, start } from './child-process.js';
import { checkConfig, DEPLOY_HAPROXY_CFG, gatewayConfig, HAPROXY, REPO_ROOT } from './haproxy-config.js';
import { querySrv } from './srv-query.js';
import { describeWindow, type Sample, TrafficRecorder, type WindowCounts } from './traffic.js';

type ZoneClusterModule = typeof import('../../packages/server/test/helpers/zone-cluster.js');
type ZoneCluster = Awaited<ReturnType<ZoneClusterModule['startZoneCluster']>>;

const CLI = join(REPO_ROOT, 'packages/server/dist/src/cli/main.js');
const ZONE_CLUSTER = join(REPO_ROOT, 'packages/server/dist/test/helpers/zone-cluster.js');
const INSTANCE = fileURLToPath(new URL('./orders-instance.js', import.meta.url));
const SRV_NAME = '_orders._tcp.service.cairn';
const SERVICE_PATH = '/v1/services/public/DEFAULT_GROUP/orders';

/** The bound on every convergence below. */
const CONVERGE_MS_MAX = 5000;
/**
 * No matching answer for this long after a change: HAProxy has converged (it re-resolves every 1 s,
 * and a request it sends to a dead server fails after its two retries, ~2 s).
 */
const QUIET_MS = 3000;
/** Share tolerance, in fractions: see stage 1. */
const SHARE_TOLERANCE = 0.05;

const SKIP = !existsSync(HAPROXY)
  ? `HAProxy is not installed at ${HAPROXY} (apt-get install haproxy, or set HAPROXY=/path/to/haproxy)`
  : !existsSync(CLI) || !existsSync(ZONE_CLUSTER)
    ? 'packages/server is not built (run npx tsc -b)'
    : undefined;

interface FederatedInstanceAnswer {
  zone: string;
  port: number;
  healthy: boolean;
  effectiveWeight: number;
  stale: boolean;
}
interface ZoneStatusAnswer {
  zone: string;
  state: string;
  serving: boolean;
  staleSinceMs: number | null;
  weight: number;
  instances: number;
}

interface Instance {
  readonly id: string;
  readonly zone: string;
  readonly child: Child;
  port: number;
}

async function getJson<T>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls `probe` every 50 ms until it returns a value; the elapsed ms and the value. */
async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return { ms: performance.now() - t0, value };
    } catch (err) {
      lastError = ` (last error: ${(err as Error).message})`;
    }
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms${lastError}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const share = (w: WindowCounts, zone: string): number => (w.byZone.get(zone) ?? 0) / Math.max(1, w.total - w.failed);
const round = (ms: number): number => Math.round(ms);

describe('HAProxy in front of two zones through the federation DNS', { skip: SKIP, timeout: 240_000 }, () => {
  let zones: ZoneCluster[] = [];
  let az1: ZoneCluster;
  let az2: ZoneCluster;
  let federation: Child;
  let fedUrl: string;
  let dnsPort: number;
  let haproxy: Child | undefined;
  let traffic: TrafficRecorder | undefined;
  const instances: Instance[] = [];
  let workDir: string | undefined;
  const timings: Record<string, number> = {};

  const srv = () => querySrv('127.0.0.1', dnsPort, SRV_NAME);
  const diagnosis = (): string =>
    [federation, haproxy, ...instances.map((i) => i.child)]
      .filter((c): c is Child => c !== undefined)
      .map((c) => c.tail(1500))
      .join('\n');

  /**
   * Waits until no answer matching `match` arrived for QUIET_MS (at most timeoutMs after `fromMs`) and
   * returns how long after `fromMs` the last of them was sent, i.e. reached HAProxy (0 when none came).
   * A request sent to a killed instance is answered later (HAProxy retries the connection twice, about
   * a second apart), so the send time, not the answer's, says when HAProxy last chose such a server.
   */
  async function lastMatchAfter(fromMs: number, match: (s: Sample) => boolean, timeoutMs: number): Promise<number> {
    const rec = traffic!;
    for (;;) {
      const now = performance.now();
      const last = rec.last(fromMs, match);
      if (now - (last?.atMs ?? fromMs) >= QUIET_MS) return last ? Math.max(0, last.sentAtMs - fromMs) : 0;
      if (now - fromMs > timeoutMs) {
        throw new Error(
          `answers still matching ${timeoutMs} ms after the change: ${describeWindow(rec.window(fromMs))}`,
        );
      }
      await sleep(100);
    }
  }

  /** Each replica's view of its cluster, for failure messages (a leader change restarts every lease). */
  async function clusterStates(zone: ZoneCluster): Promise<string> {
    const states = await Promise.all(
      zone.urls.map(async (url) => {
        try {
          const { body } = await getJson<Record<string, unknown>>(`${url}/v1/cluster`);
          return `${String(body['node'])}: ${String(body['role'])} term ${String(body['term'])} leader ${String(body['leader'])}`;
        } catch (err) {
          return `${url}: ${(err as Error).message}`;
        }
      }),
    );
    return `${zone.zone} [${states.join('; ')}]`;
  }

  async function setZoneWeight(zone: ZoneCluster, weight: number): Promise<void> {
    const res = await fetch(`${zone.urls[0]}/v1/zones/${zone.zone}/weight`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ weight }),
      signal: AbortSignal.timeout(5000),
    });
    assert.equal(res.status, 200, `PUT zone weight: ${await res.text()}`);
  }

  before(async () => {
    const { startZoneCluster, freePort } = (await import(pathToFileURL(ZONE_CLUSTER).href)) as ZoneClusterModule;
    const t0 = performance.now();
    // The server's default Raft tick (100 ms; the helper's 50 ms makes elections twitchy on a busy machine).
    const zoneOptions = { replicas: 3, extraArgs: ['--tick-ms', '100'] };
    const started = await Promise.allSettled([
      startZoneCluster({ ...zoneOptions, zone: 'az1' }),
      startZoneCluster({ ...zoneOptions, zone: 'az2' }),
    ]);
    zones = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    for (const z of zones) for (const r of z.replicas) if (r.proc) killOnExit(r.proc);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    [az1, az2] = zones as [ZoneCluster, ZoneCluster];

    const fedPort = await freePort();
    dnsPort = await freePort();
    fedUrl = `http://127.0.0.1:${fedPort}`;
    federation = start('federation', process.execPath, [
      CLI,
      'federation',
      '--listen',
      `127.0.0.1:${fedPort}`,
      '--dns',
      `127.0.0.1:${dnsPort}`,
      '--zone',
      `az1=${az1.urls.join(',')}`,
      '--zone',
      `az2=${az2.urls.join(',')}`,
      '--log-level',
      'warn',
    ]);
    await eventually(
      'federation ready',
      async () => {
        if (!federation.alive) throw new Error(`the federation exited:\n${federation.output}`);
        return (await getJson(`${fedUrl}/readyz`)).status === 200 ? true : undefined;
      },
      30_000,
    );

    for (const zone of [az1, az2]) {
      for (let n = 0; n < 5; n++) {
        const id = `${zone.zone}-${n}`;
        // Each on an address of its own, as in production. (HAProxy 2.6 gives one IP to at most one
        // server of a backend unless `resolve-opts allow-dup-ip` is set, which the deploy file does
        // not set: instances sharing an IP, on different ports, would mostly stay unused.)
        const ip = `127.0.0.${zone === az1 ? 11 + n : 21 + n}`;
        const child = start(id, process.execPath, [INSTANCE, id, ip, zone.urls.join(',')]);
        instances.push({ id, zone: zone.zone, child, port: 0 });
      }
    }
    for (const i of instances) i.port = Number((await i.child.waitFor(/ready (\d+)/, 30_000))[1]);

    // The registry path is complete before HAProxy starts: 10 SRV records, one per instance, with equal
    // weights published as 255 x 256 (HAProxy reads (w + 255) / 256 = 255).
    const { value: records } = await eventually(
      '10 SRV records for orders',
      async () => {
        const answer = await srv();
        return answer.length === 10 ? answer : undefined;
      },
      20_000,
    );
    assert.deepEqual(
      records.map((r) => r.port).sort(),
      instances.map((i) => i.port).sort(),
      'one SRV record per instance',
    );
    assert.deepEqual(new Set(records.map((r) => r.weight)), new Set([255 * 256]), JSON.stringify(records));

    workDir = mkdtempSync(join(tmpdir(), 'cairn-gateway-'));
    const ports = { http: await freePort(), local: await freePort(), stats: await freePort() };
    const cfgPath = join(workDir, 'haproxy.cfg');
    writeFileSync(cfgPath, gatewayConfig(ports));
    const env = { ...process.env, FEDERATION_DNS: `127.0.0.1:${dnsPort}` };
    await checkConfig(cfgPath, env);
    haproxy = start('haproxy', HAPROXY, ['-f', cfgPath, '-db'], env);
    await eventually(
      'HAProxy listening',
      async () => {
        if (!haproxy?.alive) throw new Error(`HAProxy exited:\n${haproxy?.output}`);
        await fetch(`http://127.0.0.1:${ports.stats}/`, { signal: AbortSignal.timeout(1000) });
        return true;
      },
      10_000,
    );
    traffic = new TrafficRecorder(`http://127.0.0.1:${ports.http}`, 10, 512);
    timings['setupMs'] = round(performance.now() - t0);
  });

  after(async () => {
    await traffic?.stop().catch(() => {});
    await haproxy?.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.child.kill('SIGKILL')));
    await federation?.kill('SIGTERM');
    await Promise.all(zones.map((z) => z.stop()));
    if (workDir) rmSync(workDir, { recursive: true, force: true });
    console.log(`gateway: timings ${JSON.stringify(timings)}`);
  });

  test('the shipped deploy/haproxy/haproxy.cfg is valid for this HAProxy', async () => {
    await checkConfig(DEPLOY_HAPROXY_CFG);
  });

  test('1. all 10 instances take traffic, about 50/50 per zone', async () => {
    const rec = traffic!;
    const tStart = performance.now();
    // HAProxy starts with empty slots (init-addr none) and fills them from its first resolutions.
    const filled = await eventually(
      'HAProxy sending to all 10 instances',
      async () => {
        const w = rec.window(performance.now() - 1000);
        return w.byInstance.size === 10 && w.failed === 0 ? true : undefined;
      },
      20_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${describeWindow(rec.window(tStart))}\n${diagnosis()}`);
    });
    timings['trafficToAll10Ms'] = round(filled.ms);
    const from = performance.now();
    await sleep(3000);
    const w = rec.window(from);
    console.log(
      `gateway: stage 1 (all 10 answering ${round(filled.ms)} ms after traffic started): ${describeWindow(w)}`,
    );
    assert.equal(w.failed, 0, describeWindow(w));
    assert.equal(w.byInstance.size, 10, `every instance answers: ${describeWindow(w)}`);
    // Equal weights under weighted round-robin: each instance gets 1/10 of every cycle; the window
    // cuts through cycles and requests overlap, so allow 5 points per zone (over ~300
    // requests the deviation is a request or two), and at least half its fair share per instance.
    for (const zone of ['az1', 'az2']) {
      assert.ok(Math.abs(share(w, zone) - 0.5) <= SHARE_TOLERANCE, `${zone} share ~50%: ${describeWindow(w)}`);
    }
    for (const [id, n] of w.byInstance)
      assert.ok(n >= (w.total / 10) * 0.5, `${id} takes its share: ${describeWindow(w)}`);
  });

  test('2. SIGKILL 4 az1 instances: HAProxy stops sending to them within 5 s, then az1 has 1/6', async () => {
    const rec = traffic!;
    const killed = instances.filter((i) => i.zone === 'az1' && i.id !== 'az1-0');
    const killedIds = new Set(killed.map((i) => i.id));
    const tKill = performance.now();
    await Promise.all(killed.map((i) => i.child.kill('SIGKILL')));
    const [dns, stopMs] = await Promise.all([
      eventually(
        'the killed instances leave the DNS answer',
        async () => ((await srv()).length === 6 ? true : undefined),
        15_000,
      ),
      // A killed instance refuses connections: without redispatch each request sent to it fails.
      lastMatchAfter(tKill, (s) => s.instance === null || killedIds.has(s.instance), 20_000),
    ]);
    timings['killToDnsMs'] = round(dns.ms);
    timings['killToHaproxyStoppedMs'] = round(stopMs);
    const failedBefore = rec.window(tKill).failed;
    console.log(
      `gateway: stage 2: killed instances left DNS after ${round(dns.ms)} ms; last request HAProxy sent to ` +
        `one reached it ${round(stopMs)} ms after the kill (${failedBefore} failed requests until then)`,
    );
    assert.ok(
      stopMs <= CONVERGE_MS_MAX,
      `HAProxy stopped sending to the killed instances after ${round(stopMs)} ms; ${await clusterStates(az1)}`,
    );

    const from = performance.now();
    await sleep(4000);
    const w = rec.window(from);
    console.log(`gateway: stage 2 after convergence: ${describeWindow(w)}`);
    assert.equal(w.failed, 0, `no request fails once converged: ${describeWindow(w)}`);
    for (const id of killedIds) assert.equal(w.byInstance.get(id) ?? 0, 0);
    assert.equal(w.byInstance.size, 6, describeWindow(w));
    assert.ok(Math.abs(share(w, 'az1') - 1 / 6) <= SHARE_TOLERANCE, `az1 share ~16.7%: ${describeWindow(w)}`);
  });

  test('3. zone weight 0 drains az1 within 5 s; back to 100, az1 takes traffic again', async () => {
    const rec = traffic!;
    const tDrain = performance.now();
    await setZoneWeight(az1, 0);
    const [dns, drainMs] = await Promise.all([
      eventually('az1 leaves the DNS answer', async () => ((await srv()).length === 5 ? true : undefined), 15_000),
      lastMatchAfter(tDrain, (s) => s.instance?.startsWith('az1-') === true, 20_000),
    ]);
    timings['drainToDnsMs'] = round(dns.ms);
    timings['drainToNoAz1TrafficMs'] = round(drainMs);
    console.log(
      `gateway: stage 3: weight 0 -> az1 left DNS after ${round(dns.ms)} ms, last az1 answer ${round(drainMs)} ms after the PUT`,
    );
    assert.ok(drainMs <= CONVERGE_MS_MAX, `az1 still answered ${round(drainMs)} ms after its weight was set to 0`);
    const zones = (await getJson<{ zones: ZoneStatusAnswer[] }>(`${fedUrl}/v1/zones`)).body.zones;
    assert.equal(zones.find((z) => z.zone === 'az1')?.weight, 0, 'the federation reports az1 at weight 0');
    const drained = rec.window(performance.now() - QUIET_MS);
    assert.equal(drained.byZone.get('az1') ?? 0, 0, describeWindow(drained));

    const tRestore = performance.now();
    await setZoneWeight(az1, 100);
    const back = await eventually(
      'az1 answers again',
      async () => rec.first(tRestore, (s) => s.instance === 'az1-0'),
      15_000,
    );
    const returnMs = back.value.atMs - tRestore;
    timings['restoreToAz1TrafficMs'] = round(returnMs);
    await sleep(1000);
    const from = performance.now();
    await sleep(3000);
    const w = rec.window(from);
    console.log(
      `gateway: stage 3: weight 100 -> first az1 answer after ${round(returnMs)} ms; then ${describeWindow(w)}`,
    );
    assert.ok(Math.abs(share(w, 'az1') - 1 / 6) <= SHARE_TOLERANCE, `az1 back at ~16.7%: ${describeWindow(w)}`);
    const whole = rec.window(tDrain);
    assert.equal(whole.failed, 0, `no request failed while draining and restoring: ${describeWindow(whole)}`);
  });

  test("4. az1's registry down: az2 undisturbed, az1 kept (policy keep) and marked stale", async () => {
    const rec = traffic!;
    const tStop = performance.now();
    await az1.stop();
    const stale = await eventually(
      'the federation marks az1 stale',
      async () => {
        const { body } = await getJson<{ zones: ZoneStatusAnswer[] }>(`${fedUrl}/v1/zones`);
        const z1 = body.zones.find((z) => z.zone === 'az1');
        return z1?.state === 'stale' ? body.zones : undefined;
      },
      30_000,
    );
    timings['registryDownToStaleMs'] = round(stale.ms);
    const z1 = stale.value.find((z) => z.zone === 'az1')!;
    const z2 = stale.value.find((z) => z.zone === 'az2')!;
    assert.equal(z1.serving, true, 'policy keep: a stale zone keeps serving its last known instances');
    assert.equal(typeof z1.staleSinceMs, 'number');
    assert.equal(z2.state, 'live');
    assert.equal(z2.staleSinceMs, null);

    const svc = (await getJson<{ service: { instances: FederatedInstanceAnswer[] } }>(`${fedUrl}${SERVICE_PATH}`)).body
      .service;
    const survivor = instances.find((i) => i.id === 'az1-0')!;
    const az1View = svc.instances.filter((i) => i.zone === 'az1');
    const az2View = svc.instances.filter((i) => i.zone === 'az2');
    assert.deepEqual(
      az1View.map((i) => [i.port, i.stale, i.effectiveWeight > 0]),
      [[survivor.port, true, true]],
      `az1's last known instance stays, stale, with its weight: ${JSON.stringify(az1View)}`,
    );
    assert.equal(az2View.length, 5);
    assert.ok(
      az2View.every((i) => !i.stale && i.healthy && i.effectiveWeight > 0),
      JSON.stringify(az2View),
    );
    assert.equal((await srv()).length, 6, 'DNS still answers az1 (kept) and az2');
    assert.equal((await querySrv('127.0.0.1', dnsPort, '_orders._tcp.service.az2.cairn')).length, 5);

    const from = performance.now();
    await sleep(3000);
    const w = rec.window(from);
    const whole = rec.window(tStop);
    console.log(
      `gateway: stage 4: az1 stale after ${round(stale.ms)} ms; since the stop: ${describeWindow(whole)}; last 3 s: ${describeWindow(w)}`,
    );
    assert.equal(whole.failed, 0, `no request failed since az1's registry stopped: ${describeWindow(whole)}`);
    for (const i of instances.filter((x) => x.zone === 'az2')) {
      assert.ok((w.byInstance.get(i.id) ?? 0) > 0, `${i.id} keeps taking traffic: ${describeWindow(w)}`);
    }
    assert.ok(Math.abs(share(w, 'az1') - 1 / 6) <= SHARE_TOLERANCE, `az1 kept at ~16.7%: ${describeWindow(w)}`);
  });
});
