import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { connect, type ServiceEvent } from '../../src/index.js';
import { zoneCluster } from '../helpers/cluster.js';
import {
  type InstanceProcess,
  startInstanceProcess,
  startTestServer,
  testLogger,
  waitFor,
} from '../helpers/instances.js';

describe('surviving registry failures (a zone of three real replicas)', () => {
  it('moves the session to another replica without the instance ever flapping', async (t) => {
    const zone = await zoneCluster.startZoneCluster({ zone: 'az1' });
    t.after(() => zone.stop());
    const server = await startTestServer('orders');
    t.after(() => server.close());
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, logger: testLogger('owner') });
    t.after(() => owner.close());
    const watcher = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, logger: testLogger('watcher') });
    t.after(() => watcher.close());

    const reg = await owner.register({ service: 'orders', port: server.port, ip: '127.0.0.1' });
    const view = watcher.watch('orders');
    await waitFor('the instance in the watcher', () => view.instances.length === 1);
    const events: ServiceEvent[] = [];
    view.on((e) => events.push(e));

    const log = testLogger('test');
    for (let round = 0; round < 2; round++) {
      const status = owner.stats().session!;
      const victim = zone.replicas.find((r) => r.url === status.replica)!;
      log.info({ round, victim: victim.id }, 'killing the session replica');
      await zone.kill(victim.id);
      await waitFor('the session to resume elsewhere', () => {
        const s = owner.stats().session!;
        return s.open && s.replica !== victim.url;
      });
      // Longer than the lease TTL (3 s): an instance that was going to flap would have by now.
      await new Promise((r) => setTimeout(r, 4000));
      log.info({ round, victim: victim.id }, 'restarting it');
      await zone.restart(victim.id);
    }
    const s = owner.stats().session!;
    assert.equal(s.opened, 1, 'one session for the whole run');
    assert.equal(s.expired, 0);
    assert.ok(s.resumed >= 2);
    const flaps = events.filter(
      (e) => e.type === 'change' && (e.removed.length > 0 || e.instances.some((i) => !i.healthy)),
    );
    assert.deepEqual(flaps, [], 'the instance never left nor turned unhealthy');
    assert.deepEqual(
      view.instances.map((i) => (i as unknown as { registeredAt: number }).registeredAt),
      [(reg.instance as unknown as { registeredAt: number }).registeredAt],
      'the same registration throughout',
    );
  });

  it('keeps calling from its cache with every registry down, and restarts from the disk cache', async (t) => {
    const zone = await zoneCluster.startZoneCluster({ zone: 'az1' });
    t.after(() => zone.stop());
    const cacheDir = mkdtempSync(join(tmpdir(), 'cairn-sdk-it-cache-'));
    t.after(() => rmSync(cacheDir, { recursive: true, force: true }));
    const instances: InstanceProcess[] = [];
    t.after(() => Promise.all(instances.map((i) => i.kill())));
    for (let i = 0; i < 3; i++) instances.push(await startInstanceProcess('az1', zone.urls, 'orders'));

    const caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir, logger: testLogger('caller') });
    const view = caller.watch('orders');
    await waitFor('three instances', () => view.instances.length === 3);
    const call = async (d = caller.dispatcher()) => {
      const res = await request('http://orders/x', { dispatcher: d });
      return ((await res.body.json()) as { port: number }).port;
    };
    const known = (port: number) => instances.some((i) => i.port === port);
    assert.ok(known(await call()));

    // Every registry goes.
    await Promise.all(zone.replicas.map((r) => zone.kill(r.id)));
    await waitFor('the view to turn stale', () => view.staleness !== null);
    const stale = caller.explain('orders');
    assert.ok(stale.stale && stale.stale.sinceMs <= Date.now());
    assert.equal(stale.sources.local.connected, false);
    for (let i = 0; i < 20; i++) assert.ok(known(await call()), 'calls go on from the cached view');
    await caller.close();

    // A new process starts while the registry is still down: it serves from the disk cache.
    const started = Date.now();
    const restarted = await connect({ zone: 'az1', servers: zone.urls, cacheDir, connectTimeoutMs: 500 });
    t.after(() => restarted.close());
    assert.ok(Date.now() - started < 5000, 'connect does not hang on a dead registry');
    const cached = restarted.watch('orders');
    await cached.ready;
    assert.equal(cached.instances.length, 3);
    assert.equal(cached.staleness?.fromCache, true);
    const ports = new Set<number>();
    for (let i = 0; i < 30; i++) ports.add(await call(restarted.dispatcher()));
    assert.deepEqual([...ports].sort(), instances.map((i) => i.port).sort(), 'calls reach the instances');

    // The registry comes back: the view is live again, and the instances survived the outage.
    await Promise.all(zone.replicas.map((r) => zone.restart(r.id)));
    await waitFor('the view to be live again', () => cached.staleness === null, 20_000);
    assert.equal(cached.instances.length, 3);
  });
});
