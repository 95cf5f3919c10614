import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { connect, type Instance, type Registry, type ServiceEvent } from '../../src/index.js';
import { type ZoneCluster, zoneCluster } from '../helpers/cluster.js';
import { startInstanceProcess, startTestServer, type TestServer, waitFor } from '../helpers/instances.js';

describe('registering and watching against a real registry', () => {
  let zone: ZoneCluster;
  let servers: TestServer[] = [];

  before(async () => {
    zone = await zoneCluster.startZoneCluster({ zone: 'az1', replicas: 1 });
    servers = await Promise.all([0, 1].map((i) => startTestServer(`s${i}`)));
  });

  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await zone?.stop();
  });

  it('registers, updates and deregisters; a watcher sees each step, in order, through its iterator', async (t) => {
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    t.after(() => owner.close());
    const watcher = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    t.after(() => watcher.close());
    const view = watcher.watch('billing');
    const seen: ServiceEvent[] = [];
    const reading = (async () => {
      for await (const e of view) {
        seen.push(e);
        if (e.type === 'change' && e.instances.length === 0 && seen.length > 3) break;
      }
    })();

    const reg = await owner.register({ service: 'billing', port: servers[0]!.port, ip: '127.0.0.1', weight: 50 });
    assert.equal(reg.instance.zone, 'az1', 'the registry stamps its zone');
    assert.equal(reg.instance.weight, 50);
    await waitFor('the watcher to see it', () => view.instances.length === 1);
    await reg.update({ weight: 300, metadata: { version: 'v2' } });
    await waitFor('the update', () => view.instances[0]?.weight === 300);
    assert.deepEqual(view.instances[0]!.metadata, { version: 'v2' });
    await reg.deregister();
    await reading;
    const changes = seen.filter((e): e is Extract<ServiceEvent, { type: 'change' }> => e.type === 'change');
    assert.deepEqual(
      changes.map((c) => c.instances.map((i: Instance) => i.weight)),
      [[], [50], [300], []],
      'the current (empty) view first, then every step',
    );
    assert.ok(
      seen.some((e) => e.type === 'held'),
      'the last instance leaving was held back until a fresh read confirmed it',
    );
    assert.ok(changes.every((c, i) => i === 0 || c.revision > changes[i - 1]!.revision));
  });

  it('holds back an empty push, keeps picking the old view, and applies it once a fresh read confirms', async (t) => {
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    for (const s of servers) await owner.register({ service: 'pay', port: s.port, ip: '127.0.0.1' });
    const caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    t.after(() => caller.close());
    const view = caller.watch('pay');
    await waitFor('both instances', () => view.instances.length === 2);

    const events: ServiceEvent[] = [];
    let pickedWhileHeld: Instance | undefined;
    let explainedWhileHeld: ReturnType<Registry['explain']> | undefined;
    view.on((e) => {
      events.push(e);
      if (e.type === 'held') {
        pickedWhileHeld = caller.pick('pay');
        explainedWhileHeld = caller.explain('pay');
      }
    });
    await owner.close(); // the session ends: both instances go in one revision
    await waitFor('the empty view to be confirmed', () => view.instances.length === 0);
    assert.deepEqual(
      events.map((e) => e.type),
      ['held', 'released', 'change'],
    );
    assert.ok(pickedWhileHeld, 'while held, the last good view still served picks');
    assert.equal(explainedWhileHeld?.held?.healthyBefore, 2, 'explain() reports the held update');
    assert.equal(caller.pick('pay'), undefined);
  });

  it('without protection an empty push applies at once', async (t) => {
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    await owner.register({ service: 'free', port: servers[0]!.port, ip: '127.0.0.1' });
    const caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null, pushEmptyProtection: false });
    t.after(() => caller.close());
    const view = caller.watch('free');
    await waitFor('the instance', () => view.instances.length === 1);
    const types: string[] = [];
    view.on((e) => types.push(e.type));
    await owner.close();
    await waitFor('the empty view', () => view.instances.length === 0);
    assert.deepEqual(types, ['change']);
  });

  it('deregisters on SIGTERM through the signal hook, then lets the signal end the process', async (t) => {
    const caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    t.after(() => caller.close());
    const view = caller.watch('signalled');
    const [a, b] = await Promise.all([0, 1].map(() => startInstanceProcess('az1', zone.urls, 'signalled')));
    t.after(() => Promise.all([a!.kill(), b!.kill()]));
    await waitFor('both instances', () => view.instances.length === 2);
    const sentAt = Date.now();
    const ended = await a!.stop();
    assert.equal(ended.signal, 'SIGTERM', 'the process still dies of the signal');
    await waitFor('the instance to be gone', () => view.instances.length === 1, 2000);
    assert.ok(Date.now() - sentAt < 2000, 'deregistered, not left to expire');
    assert.equal(view.instances[0]!.port, b!.port);
  });

  it('registers again by itself after its session expired (a process paused longer than the TTL)', async (t) => {
    const caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    t.after(() => caller.close());
    const view = caller.watch('paused');
    const [a, b] = await Promise.all([0, 1].map(() => startInstanceProcess('az1', zone.urls, 'paused')));
    t.after(() => Promise.all([a!.kill(), b!.kill()]));
    await waitFor('both instances', () => view.instances.length === 2);
    a!.proc.kill('SIGSTOP');
    try {
      await waitFor('the paused instance to expire', () => view.instances.length === 1, 10_000);
    } finally {
      a!.proc.kill('SIGCONT');
    }
    await waitFor('the instance to register again', () => view.instances.some((i) => i.port === a!.port), 10_000);
  });

  it('deregisters at once on close, so callers stop sending before the process exits', async (t) => {
    const owner = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    await owner.register({ service: 'quick', port: servers[1]!.port, ip: '127.0.0.1' });
    const caller = await connect({ zone: 'az1', servers: zone.urls, cacheDir: null });
    t.after(() => caller.close());
    const view = caller.watch('quick');
    await waitFor('the instance', () => view.instances.length === 1);
    const res = await request('http://quick/', { dispatcher: caller.dispatcher() });
    assert.equal(res.statusCode, 200);
    await res.body.dump();
    const closedAt = Date.now();
    await owner.close();
    await waitFor('the instance to be gone', () => view.instances.length === 0, 2000);
    assert.ok(Date.now() - closedAt < 2000, 'well before any lease could run out');
  });
});
