import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { connect, type Registry } from '../../src/index.js';
import { zoneCluster } from '../helpers/cluster.js';
import {
  type InstanceProcess,
  startInstanceProcess,
  startTestServer,
  type TestServer,
  testLogger,
  waitFor,
} from '../helpers/instances.js';

/** The zone each of `n` picks landed in, as a share of az1. */
function observedLocalShare(caller: Registry, n: number): number {
  let local = 0;
  for (let i = 0; i < n; i++) if (caller.pick('orders')?.zone === 'az1') local++;
  return local / n;
}

// Two zones, one registry replica each (replication is not what this test is about). az2's registry
// stands in for the federation: it speaks the same watch protocol and its instances carry zone az2.
describe('zone pinning against real registries and instances', () => {
  it('stays local while az1 is healthy, spills gradually as its instances die, and comes back', async (t) => {
    const az1 = await zoneCluster.startZoneCluster({ zone: 'az1', replicas: 1 });
    t.after(() => az1.stop());
    const az2 = await zoneCluster.startZoneCluster({ zone: 'az2', replicas: 1 });
    t.after(() => az2.stop());

    // az2: five instances registered by one process (one session for all of them).
    const remoteServers: TestServer[] = await Promise.all([0, 1, 2, 3, 4].map((i) => startTestServer(`az2-${i}`)));
    t.after(() => Promise.all(remoteServers.map((s) => s.close())));
    const az2Owner = await connect({ zone: 'az2', servers: az2.urls, cacheDir: null });
    t.after(() => az2Owner.close());
    for (const s of remoteServers) await az2Owner.register({ service: 'orders', port: s.port, ip: '127.0.0.1' });

    // az1: five instances, each its own process, so that killing one is a real crash.
    const local: InstanceProcess[] = [];
    t.after(() => Promise.all(local.map((p) => p.kill())));
    local.push(...(await Promise.all([0, 1, 2, 3, 4].map(() => startInstanceProcess('az1', az1.urls, 'orders')))));

    const caller = await connect({
      zone: 'az1',
      servers: az1.urls,
      federation: az2.urls,
      cacheDir: null,
      picking: { departedMemoryMs: 60_000 },
      logger: testLogger('caller'),
    });
    t.after(() => caller.close());
    const view = caller.watch('orders');
    await waitFor('ten instances in two zones', () => view.instances.length === 10);

    // Healthy zone: every call stays local, through the Dispatcher to real servers.
    const localPorts = new Set(local.map((p) => p.port));
    for (let i = 0; i < 100; i++) {
      const res = await request('http://orders/x', { dispatcher: caller.dispatcher() });
      const { port } = (await res.body.json()) as { port: number };
      assert.ok(localPorts.has(port), `call ${i} left the zone`);
    }
    assert.equal(caller.explain('orders').mode, 'local');

    // Kill az1's instances one by one: the local share falls gradually (1.4 × healthy ratio).
    const shares: number[] = [];
    for (let killed = 1; killed <= 4; killed++) {
      await local[killed - 1]!.kill();
      await waitFor(`the view to drop instance ${killed}`, () => view.instances.length === 10 - killed, 10_000);
      const e = caller.explain('orders');
      shares.push(Math.round(e.localShare * 100));
      assert.ok(Math.abs(observedLocalShare(caller, 4000) - e.localShare) < 0.04, 'picks follow the plan');
    }
    assert.deepEqual(shares, [100, 84, 56, 28]);

    // With one survivor in az1, real calls go mostly to az2.
    const survivor = local[4]!.port;
    let toSurvivor = 0;
    for (let i = 0; i < 200; i++) {
      const res = await request('http://orders/y', { dispatcher: caller.dispatcher() });
      if (((await res.body.json()) as { port: number }).port === survivor) toSurvivor++;
    }
    assert.ok(toSurvivor > 25 && toSurvivor < 90, `the survivor took ${toSurvivor} of 200 calls (expected ~56)`);
    const counters = caller.stats().picks;
    assert.ok(counters.crossZone > 0 && counters.local > counters.crossZone);

    // The zone comes back: new instances replace the dead ones and every call is local again.
    local.push(...(await Promise.all([0, 1, 2, 3].map(() => startInstanceProcess('az1', az1.urls, 'orders')))));
    await waitFor('the zone to be whole again', () => caller.explain('orders').mode === 'local', 10_000);
    assert.equal(observedLocalShare(caller, 2000), 1);
  });
});
