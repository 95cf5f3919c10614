// What a zone promises across failures: acknowledged registrations survive a leader SIGKILL, live
// leases never expire across a leader change, silent instances leave on time, and a full restart
// finds everything again. Real processes, real level databases.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sleep, startZoneCluster, type ZoneCluster } from './helpers/zone-cluster.js';

interface InstanceView {
  ip: string;
  port: number;
  healthy: boolean;
  revision: number;
}

async function call<T>(url: string, method = 'GET', body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: (await res.json()) as T };
}

function live(zone: ZoneCluster): string[] {
  return zone.replicas.filter((r) => r.proc).map((r) => r.url);
}

async function serviceInstances(url: string, service: string): Promise<InstanceView[]> {
  const { body } = await call<{ instances: InstanceView[] }>(
    `${url}/v1/services/public/DEFAULT_GROUP/${service}?consistent=true`,
  );
  return body.instances;
}

describe('zone durability', { timeout: 180_000 }, () => {
  it('SIGKILL of the leader while registering loses no acknowledged registration and expires no live lease', async (t) => {
    const zone = await startZoneCluster();
    t.after(() => zone.stop());
    const acked = new Map<number, number>(); // port -> revision of the acknowledgement
    let stop = false;
    let next = 20_000;

    // Writers spread over every live replica; followers forward to the leader.
    const writer = async (w: number) => {
      while (!stop) {
        const port = next++;
        const urls = live(zone);
        const url = urls[(port + w) % urls.length]!;
        try {
          const r = await call<{ revision: number }>(`${url}/v1/instances`, 'POST', {
            service: 'orders',
            ip: '10.1.0.1',
            port,
          });
          if (r.status === 200) acked.set(port, r.body.revision);
        } catch {
          // a refused or cut-off write was never acknowledged: nothing was promised
        }
      }
    };
    // Heartbeats for every acknowledged instance, every 500 ms, through any live replica.
    const heartbeats = async () => {
      while (!stop) {
        const instances = [...acked.keys()].map((port) => ({ service: 'orders', ip: '10.1.0.1', port }));
        for (const url of live(zone)) {
          try {
            if (instances.length > 0) await call(`${url}/v1/instances/heartbeat/batch`, 'PUT', { instances });
            break;
          } catch {
            // try the next replica
          }
        }
        await sleep(500);
      }
    };
    const work = [writer(0), writer(1), writer(2), writer(3), heartbeats()];
    await sleep(1500);
    const victim = await zone.leader();
    await zone.kill(victim, 'SIGKILL');
    await sleep(4000); // past the 3 s unhealthy threshold: a wrongly expired lease would show
    stop = true;
    await Promise.all(work);
    const survivor = live(zone)[0]!;
    await zone.leader();

    const instances = await serviceInstances(survivor, 'orders');
    const byPort = new Map(instances.map((i) => [i.port, i]));
    assert.ok(acked.size > 20, `only ${acked.size} registrations were acknowledged`);
    for (const [port, revision] of acked) {
      const inst = byPort.get(port);
      assert.ok(inst, `acknowledged registration of port ${port} was lost`);
      assert.equal(inst.healthy, true, `instance ${port} was marked unhealthy while it kept beating`);
      assert.equal(inst.revision, revision, `instance ${port} changed after its registration (a lease flapped)`);
    }
  });

  it('an instance that stops beating turns unhealthy, then is removed, on its own schedule', async (t) => {
    const zone = await startZoneCluster();
    t.after(() => zone.stop());
    const heartbeat = { intervalMs: 200, unhealthyAfterMs: 800, expireAfterMs: 2000 };
    const reg = await call(`${zone.urls[0]}/v1/instances`, 'POST', {
      service: 'quiet',
      ip: '10.2.0.1',
      port: 1,
      heartbeat,
    });
    assert.equal(reg.status, 200);
    const key = { service: 'quiet', ip: '10.2.0.1', port: 1 };
    for (let i = 0; i < 5; i++) {
      await call(`${zone.urls[i % 3]}/v1/instances/heartbeat`, 'PUT', key);
      await sleep(200);
    }
    const silentAt = Date.now();
    let unhealthyAfterMs = -1;
    let removedAfterMs = -1;
    while (Date.now() - silentAt < 10_000 && removedAfterMs < 0) {
      const r = await call<{ instance?: InstanceView }>(
        `${zone.urls[1]}/v1/instances?service=quiet&ip=10.2.0.1&port=1`,
      );
      const elapsed = Date.now() - silentAt;
      if (r.status === 404) removedAfterMs = elapsed;
      else if (r.body.instance && !r.body.instance.healthy && unhealthyAfterMs < 0) unhealthyAfterMs = elapsed;
      await sleep(50);
    }
    assert.ok(unhealthyAfterMs >= 600, `unhealthy after ${unhealthyAfterMs} ms, before its 800 ms threshold`);
    assert.ok(unhealthyAfterMs < 2000, `unhealthy only after ${unhealthyAfterMs} ms`);
    assert.ok(removedAfterMs >= 1800, `removed after ${removedAfterMs} ms, before its 2000 ms threshold`);
    assert.ok(removedAfterMs < 4000, `removed only after ${removedAfterMs} ms`);
  });

  it('a whole-zone restart finds every namespace, service, instance and zone weight again', async (t) => {
    const zone = await startZoneCluster();
    t.after(() => zone.stop());
    const u = zone.urls;
    assert.equal((await call(`${u[0]}/v1/namespaces/dev`, 'PUT', { description: 'developers' })).status, 200);
    assert.equal(
      (
        await call(`${u[1]}/v1/services/dev/DEFAULT_GROUP/billing`, 'PUT', {
          protectThreshold: 0.5,
          metadata: { team: 'pay' },
        })
      ).status,
      200,
    );
    for (let i = 0; i < 30; i++) {
      const r = await call(`${u[i % 3]}/v1/instances`, 'POST', {
        namespace: 'dev',
        service: 'billing',
        ip: '10.3.0.1',
        port: 7000 + i,
        ephemeral: false,
        metadata: { i: String(i) },
      });
      assert.equal(r.status, 200);
    }
    assert.equal((await call(`${u[2]}/v1/zones/az2/weight`, 'PUT', { weight: 0 })).status, 200);

    for (const r of zone.replicas) await zone.kill(r.id, 'SIGTERM');
    for (const r of zone.replicas) zone.start(r.id);
    await Promise.all(zone.replicas.map((r) => zone.waitReady(r.id)));
    await zone.leader();

    for (const url of u) {
      const svc = await call<{
        service: { protectThreshold: number; metadata: Record<string, string> };
        instances: InstanceView[];
      }>(`${url}/v1/services/dev/DEFAULT_GROUP/billing`);
      assert.equal(svc.status, 200);
      assert.equal(svc.body.service.protectThreshold, 0.5);
      assert.deepEqual(svc.body.service.metadata, { team: 'pay' });
      assert.equal(svc.body.instances.length, 30);
      const weights = await call<{ weights: { zone: string; weight: number }[] }>(`${url}/v1/zones/weights`);
      assert.deepEqual(
        weights.body.weights.find((w) => w.zone === 'az2'),
        { zone: 'az2', weight: 0 },
      );
    }
  });
});
