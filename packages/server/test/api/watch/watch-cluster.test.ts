import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startZoneCluster, type ZoneCluster } from '../../helpers/zone-cluster.js';
import {
  connectWatch,
  is,
  keepAlive,
  openSession,
  registerVia,
  type SessionClient,
  type WatchClient,
  WatchView,
} from './push-client.js';

/** What a change is, without the bookkeeping that differs between replicas (nothing should). */
const describeChange = (c: WatchView['changes'][number]): string =>
  c.kind === 'instance'
    ? `${c.revision} ${c.action} ${c.instance.id} ${c.instance.healthy}`
    : c.kind === 'service'
      ? `${c.revision} service ${c.action} ${c.service.service}`
      : `${c.revision} ${c.kind}`;

describe('/v1/watch on a zone of three cairn server processes', () => {
  let zone: ZoneCluster;
  const sockets: (WatchClient | SessionClient)[] = [];
  const stops: (() => void)[] = [];
  before(async () => {
    zone = await startZoneCluster({ zone: 'az1' });
  });
  after(async () => {
    for (const stop of stops) stop();
    await Promise.all(sockets.map((s) => s.terminate()));
    await zone.stop();
  });

  it('watches on every replica deliver every change, in the same order', async () => {
    const views: WatchView[] = [];
    for (const url of zone.urls) {
      const w = await connectWatch(url);
      sockets.push(w);
      w.send({ type: 'subscribe', sub: 'all', all: true });
      const view = new WatchView(w, 'all');
      await view.until((v) => v.snapshots === 1);
      views.push(view);
    }
    const start = Math.max(...views.map((v) => v.revision));

    // Writers on every replica at once: registrations through followers are forwarded to the leader.
    const sessions = await Promise.all(zone.urls.map((url) => openSession(url, { ttlMs: 5000 })));
    for (const s of sessions) {
      sockets.push(s.client);
      stops.push(keepAlive(s.client, s.opened.keepaliveMs));
    }
    let reqId = 0;
    const registered = await Promise.all(
      sessions.flatMap((s, i) =>
        Array.from({ length: 10 }, (_, p) =>
          registerVia(s.client, ++reqId, { service: `svc-${p % 3}`, ip: `10.0.${i}.1`, port: 1000 + p }),
        ),
      ),
    );
    // Then one session closes: its ten instances go at once.
    sessions[0]!.client.send({ type: 'close' });
    const closed = await sessions[0]!.client.take(is('closed'));
    const lastRevision = Math.max(closed.revision, ...registered.map((r) => r.revision));

    for (const v of views) await v.until((x) => x.revision >= lastRevision, 15_000, 'replica caught up');
    const streams = views.map((v) => v.changes.filter((c) => c.revision > start).map(describeChange));
    assert.ok(streams[0]!.length >= 40, `30 puts and 10 deletes at least, got ${streams[0]!.length}`);
    assert.deepEqual(streams[1], streams[0], 'replica 2 delivered the same changes in the same order');
    assert.deepEqual(streams[2], streams[0], 'replica 3 delivered the same changes in the same order');
    const puts = new Set(
      views[0]!
        .instanceChanges()
        .filter((c) => c.action === 'put')
        .map((c) => c.instance.id),
    );
    for (const r of registered) assert.ok(puts.has(r.instance.id), `${r.instance.id} delivered`);
    const closeDeletes = views[0]!.instanceChanges().filter((c) => c.revision === closed.revision);
    assert.equal(closeDeletes.length, 10, 'session close removed its instances in one revision');
    for (const v of views) assert.equal(v.instances.size, 20);
  });

  it('a watcher whose replica dies resumes on another replica from its revision, without gaps', async () => {
    const leader = await zone.leader();
    const [victim, other] = zone.replicas.filter((r) => r.id !== leader);
    assert.ok(victim && other);
    const steady = await connectWatch(zone.replica(leader).url);
    sockets.push(steady);
    steady.send({ type: 'subscribe', sub: 's', services: [{ service: 'resume' }] });
    const steadyView = new WatchView(steady, 's');

    const first = await connectWatch(victim.url);
    first.send({ type: 'subscribe', sub: 'r', services: [{ service: 'resume' }] });
    const firstView = new WatchView(first, 'r');
    await firstView.until((v) => v.snapshots === 1);
    const writer = await openSession(other.url, { ttlMs: 5000 });
    sockets.push(writer.client);
    stops.push(keepAlive(writer.client, writer.opened.keepaliveMs));
    for (let p = 1; p <= 5; p++) await registerVia(writer.client, p, { service: 'resume', ip: '10.9.0.1', port: p });
    await firstView.until((v) => v.instances.size === 5);

    await zone.kill(victim.id);
    await first.closed;
    const lastSeen = firstView.sync().revision;
    for (let p = 6; p <= 10; p++) await registerVia(writer.client, p, { service: 'resume', ip: '10.9.0.1', port: p });
    writer.client.send({ type: 'deregister', reqId: 11, instance: { service: 'resume', ip: '10.9.0.1', port: 2 } });
    const dereg = await writer.client.take(is('deregistered'));

    const again = await connectWatch(other.url);
    sockets.push(again);
    again.send({ type: 'subscribe', sub: 'r', services: [{ service: 'resume' }], fromRevision: lastSeen });
    const subscribed = await again.take(is('subscribed', 'r'));
    assert.equal(subscribed.resumed, true, 'resumed from the history, no snapshot');
    const resumed = WatchView.continuing(firstView, again, 'r');
    await resumed.until((v) => v.revision >= dereg.revision);
    await steadyView.until((v) => v.revision >= dereg.revision);
    assert.deepEqual(
      resumed.changes.map(describeChange),
      steadyView.changes.filter((c) => c.revision > lastSeen).map(describeChange),
      'exactly the changes after the last revision seen',
    );
    assert.deepEqual([...resumed.instances.keys()].sort(), [...steadyView.instances.keys()].sort());
    assert.equal(resumed.instances.size, 9);
    assert.ok(!again.messages.some((m) => m.type === 'snapshot'));
  });
});
