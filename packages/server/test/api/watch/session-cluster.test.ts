import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sleep, startZoneCluster, type ZoneCluster } from '../../helpers/zone-cluster.js';
import {
  connectSession,
  connectWatch,
  is,
  keepAlive,
  openSession,
  registerVia,
  type SessionClient,
  type WatchClient,
  WatchView,
} from './push-client.js';

/** Sessions on a zone of three real processes: leases kept, lost, moved between replicas, and across a leader's death. */
describe('/v1/session on a zone of three cairn server processes', () => {
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

  /** A watch of one service on the replica at `url`, once its snapshot has arrived. */
  async function watchService(url: string, service: string): Promise<WatchView> {
    const w = await connectWatch(url);
    sockets.push(w);
    w.send({ type: 'subscribe', sub: service, services: [{ service }] });
    const view = new WatchView(w, service);
    await view.until((v) => v.snapshots === 1);
    return view;
  }

  async function followers(): Promise<string[]> {
    const leader = await zone.leader();
    return zone.replicas.filter((r) => r.id !== leader && r.proc).map((r) => r.url);
  }

  it('a session kept alive through a follower keeps its instances well past its TTL', async () => {
    const [follower, watcherUrl] = await followers();
    const view = await watchService(watcherUrl!, 'kept');
    const { client, opened } = await openSession(follower!, { ttlMs: 3000 });
    sockets.push(client);
    const stop = keepAlive(client, opened.keepaliveMs);
    stops.push(stop);
    await registerVia(client, 1, { service: 'kept', ip: '10.2.0.1', port: 1 });
    await registerVia(client, 2, { service: 'kept', ip: '10.2.0.1', port: 2 });
    await view.until((v) => v.instances.size === 2);
    await sleep(3 * opened.ttlMs);
    client.send({ type: 'keepalive' });
    await client.take(is('alive'));
    assert.equal(view.sync().instances.size, 2);
    assert.ok(!view.instanceChanges().some((c) => c.action === 'delete'), 'nothing expired');
    assert.ok(!client.messages.some((m) => m.type === 'expired'));
    stop();
  });

  it('a session whose client disappears expires after its TTL: its instances go and watchers are told', async () => {
    const [follower, watcherUrl] = await followers();
    const view = await watchService(watcherUrl!, 'lost');
    const { client, opened } = await openSession(follower!, { ttlMs: 1500 });
    await registerVia(client, 1, { service: 'lost', ip: '10.3.0.1', port: 1 });
    await registerVia(client, 2, { service: 'lost', ip: '10.3.0.1', port: 2 });
    await view.until((v) => v.instances.size === 2);
    client.send({ type: 'keepalive' });
    const lastFrameMs = Date.now();
    await client.terminate();

    await view.until((v) => v.instances.size === 0, 15_000, 'instances removed');
    const goneAfterMs = Date.now() - lastFrameMs;
    assert.ok(goneAfterMs >= opened.ttlMs - 100, `removed ${goneAfterMs} ms after the last frame, TTL ${opened.ttlMs}`);
    const deletes = view.instanceChanges().filter((c) => c.action === 'delete');
    assert.equal(deletes.length, 2);
    assert.equal(deletes[0]!.revision, deletes[1]!.revision, 'removed together, by one session.close');

    const resume = await connectSession(follower!);
    sockets.push(resume);
    resume.send({ type: 'open', sessionId: opened.sessionId });
    assert.equal((await resume.take(is('expired'))).sessionId, opened.sessionId, 'resuming it is refused');
  });

  it('a session that moves to another replica within its TTL never flaps', async () => {
    const urls = zone.replicas.filter((r) => r.proc).map((r) => r.url);
    const view = await watchService(urls[2]!, 'moving');
    const first = await openSession(urls[0]!, { ttlMs: 3000 });
    const stopFirst = keepAlive(first.client, first.opened.keepaliveMs);
    const regs = [];
    for (let p = 1; p <= 3; p++)
      regs.push(await registerVia(first.client, p, { service: 'moving', ip: '10.4.0.1', port: p }));
    await view.until((v) => v.instances.size === 3);
    const settled = view.sync().changes.length;

    // The replica's connection drops; the client reconnects elsewhere well within the TTL.
    stopFirst();
    await first.client.terminate();
    await sleep(first.opened.ttlMs / 3);
    const second = await openSession(urls[1]!, { sessionId: first.opened.sessionId });
    sockets.push(second.client);
    assert.equal(second.opened.resumed, true);
    stops.push(keepAlive(second.client, second.opened.keepaliveMs));
    await sleep(2.5 * first.opened.ttlMs);

    const after = view.sync().changes.slice(settled);
    assert.deepEqual(after, [], 'no change at all to the moving instances: no unhealthy, no delete, no re-put');
    const fourth = await registerVia(second.client, 4, { service: 'moving', ip: '10.4.0.1', port: 4 });
    assert.ok(fourth.revision > regs[2]!.revision, 'the resumed session still holds instances');
    await view.until((v) => v.instances.size === 4);
  });

  it('killing the leader (SIGKILL) while a session is kept alive through a follower does not expire it', async () => {
    const leader = await zone.leader();
    const live = zone.replicas.filter((r) => r.id !== leader && r.proc);
    const follower = live[0]!;
    const view = await watchService(live[1]!.url, 'failover');
    const { client, opened } = await openSession(follower.url, { ttlMs: 3000 });
    sockets.push(client);
    stops.push(keepAlive(client, opened.keepaliveMs));
    await registerVia(client, 1, { service: 'failover', ip: '10.5.0.1', port: 1 });
    await registerVia(client, 2, { service: 'failover', ip: '10.5.0.1', port: 2 });
    await view.until((v) => v.instances.size === 2);
    const settled = view.sync().changes.length;

    await zone.kill(leader, 'SIGKILL');
    const next = await zone.leader();
    assert.notEqual(next, leader);
    await sleep(2.5 * opened.ttlMs);

    assert.deepEqual(view.sync().changes.slice(settled), [], 'the instances never changed');
    assert.ok(!client.messages.some((m) => m.type === 'expired'), 'the session was never expired');
    const third = await registerVia(client, 3, { service: 'failover', ip: '10.5.0.1', port: 3 });
    assert.ok(third.revision > 0, 'the session still registers under the new leader');
    await view.until((v) => v.instances.size === 3);
  });
});
