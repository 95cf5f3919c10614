import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fetch, getGlobalDispatcher, request, setGlobalDispatcher } from 'undici';
import { connect, type Registry } from '../../src/index.js';
import { type ZoneCluster, zoneCluster } from '../helpers/cluster.js';
import { startTestServer, type TestServer, waitFor } from '../helpers/instances.js';

// One registry replica is enough here: this is about the Dispatcher, not about failover.
describe('the Dispatcher against real servers', () => {
  let zone: ZoneCluster;
  let owners: Registry[] = [];
  let servers: TestServer[] = [];
  let caller: Registry;

  before(async () => {
    zone = await zoneCluster.startZoneCluster({ zone: 'az1', replicas: 1 });
    servers = await Promise.all([0, 1, 2].map((i) => startTestServer(`orders-${i}`)));
    // Each instance under its own session, as separate processes would be.
    owners = await Promise.all(servers.map(() => connect({ zone: 'az1', servers: zone.urls, cacheDir: null })));
    await Promise.all(servers.map((s, i) => owners[i]!.register({ service: 'orders', port: s.port, ip: '127.0.0.1' })));
    caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, outliers: { baseEjectionMs: 60_000 } });
    const view = caller.watch('orders');
    await waitFor('three instances', () => view.instances.length === 3);
  });

  after(async () => {
    await caller?.close();
    await Promise.all(owners.map((o) => o.close()));
    await Promise.all(servers.map((s) => s.close()));
    await zone?.stop();
  });

  it('sends http://orders/... to the instances, spread over all of them', async () => {
    const d = caller.dispatcher();
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++) {
      const res = await request('http://orders/charge?x=1', { dispatcher: d });
      assert.equal(res.statusCode, 200);
      const body = (await res.body.json()) as { port: number; path: string };
      assert.equal(body.path, '/charge?x=1');
      seen.add(body.port);
    }
    assert.equal(seen.size, 3);
    assert.equal(caller.stats().picks.local, caller.stats().picks.picks, 'every pick in the zone');
  });

  it('works with fetch, with a suffix, and as the global dispatcher (passing other hosts through)', async () => {
    const d = caller.dispatcher({ suffix: 'svc.cairn' });
    const viaFetch = await fetch('http://orders.svc.cairn/f', { dispatcher: d });
    assert.equal(((await viaFetch.json()) as { path: string }).path, '/f');

    const plain = await startTestServer('plain');
    const previous = getGlobalDispatcher();
    setGlobalDispatcher(caller.dispatcher());
    try {
      const a = await request('http://orders/g');
      const port = ((await a.body.json()) as { port: number }).port;
      assert.ok(servers.some((s) => s.port === port));
      const b = await fetch(`http://127.0.0.1:${plain.port}/direct`);
      assert.equal(((await b.json()) as { name: string }).name, 'plain', 'other hosts pass through');
      const c = await globalThis.fetch('http://orders/built-in');
      assert.equal(c.status, 200, "Node's built-in fetch goes through the global dispatcher too");
      await c.arrayBuffer();
    } finally {
      setGlobalDispatcher(previous);
      await plain.close();
    }
  });

  it('retries an idempotent request on another instance when one is down, and ejects it after 5 failures', async () => {
    const d = caller.dispatcher();
    const dead = servers[0]!;
    await dead.close(); // still registered: connections are refused
    const before = caller.stats().dispatcher.retries;
    for (let i = 0; i < 40; i++) {
      const res = await request('http://orders/retry', { dispatcher: d });
      assert.equal(res.statusCode, 200, 'every call succeeds');
      const body = (await res.body.json()) as { port: number };
      assert.notEqual(body.port, dead.port);
    }
    assert.ok(caller.stats().dispatcher.retries > before, 'some calls were retried');
    const e = caller.explain('orders');
    assert.equal(e.ejected, 1, 'the dead instance is ejected');
    const retriesAfterEjection = caller.stats().dispatcher.retries;
    for (let i = 0; i < 20; i++) await (await request('http://orders/after', { dispatcher: d })).body.dump();
    assert.equal(caller.stats().dispatcher.retries, retriesAfterEjection, 'an ejected instance is not picked');
  });

  it('does not retry a POST, and reports a service without instances clearly', async () => {
    await assert.rejects(
      request('http://nothing-here/x', { dispatcher: caller.dispatcher({ firstViewTimeoutMs: 300 }) }),
      (err: Error & { code?: string }) => err.code === 'NO_INSTANCE' && /no instance of nothing-here/.test(err.message),
    );
    // Without ejection the dead instance (servers[0], closed above) stays in rotation.
    const plain = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, outliers: false });
    try {
      await plain.watch('orders').ready;
      const d = plain.dispatcher();
      let refused = 0;
      for (let i = 0; i < 30; i++) {
        try {
          await (await request('http://orders/pay', { method: 'POST', body: 'x', dispatcher: d })).body.dump();
        } catch (err) {
          assert.equal((err as { code?: string }).code, 'ECONNREFUSED');
          refused++;
        }
      }
      assert.ok(refused > 0, 'some POSTs went to the dead instance and failed');
      assert.equal(plain.stats().dispatcher.retries, 0, 'a POST is never retried');
    } finally {
      await plain.close();
    }
  });

  it('routes labelled calls to matching instances, and falls back to the whole service', async () => {
    const gray = await startTestServer('gray');
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    try {
      await owner.register({ service: 'orders', port: gray.port, ip: '127.0.0.1', metadata: { version: 'gray' } });
      await waitFor('the gray instance', () => caller.watch('orders').instances.length === 4);
      const d = caller.dispatcher({ labels: { version: 'gray' } });
      for (let i = 0; i < 10; i++) {
        const body = (await (await request('http://orders/canary', { dispatcher: d })).body.json()) as { name: string };
        assert.equal(body.name, 'gray');
      }
      const none = caller.dispatcher({ labels: { version: 'blue' } });
      const res = await request('http://orders/fallback', { dispatcher: none });
      assert.equal(res.statusCode, 200, 'no instance is blue: the whole service serves');
      await res.body.dump();
    } finally {
      await owner.close();
      await gray.close();
    }
  });
});
