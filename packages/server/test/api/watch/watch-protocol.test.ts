import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectWatch, is, WatchView } from './push-client.js';
import { ref, spec, startSingleNode } from './single-node.js';

describe('/v1/watch on one in-process replica', () => {
  it('sends hello, then a snapshot of what was subscribed, then only its deltas, in revision order, and progress', async (t) => {
    const node = await startSingleNode({ limits: { progressIntervalMs: 100, sweepMs: 20 } });
    t.after(() => node.close());
    const { registry } = node;
    for (let p = 1; p <= 3; p++) await registry.execute({ op: 'register', instance: spec('orders', p) });
    await registry.execute({ op: 'register', instance: spec('payments', 1) });
    await registry.execute({ op: 'zone.weight', zone: 'az1', weight: 70 });

    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    const hello = await client.take(is('hello'));
    assert.equal(hello.zone, 'az1');
    assert.equal(hello.protocol, 1);
    client.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }] });
    const subscribed = await client.take(is('subscribed', 'o'));
    assert.equal(subscribed.resumed, false);
    const snapshot = await client.take(is('snapshot', 'o'));
    assert.equal(snapshot.last, true);
    assert.equal(snapshot.revision, subscribed.revision);
    assert.equal(snapshot.revision, registry.revision);
    assert.deepEqual(snapshot.instances.map((i) => i.port).sort(), [1, 2, 3]);
    assert.deepEqual(
      snapshot.services.map((s) => s.service),
      ['orders'],
    );
    assert.deepEqual(snapshot.zoneWeights, [{ zone: 'az1', weight: 70 }]);
    assert.deepEqual(snapshot.namespaces, [], 'namespaces go to `all` subscriptions only');
    assert.ok(
      snapshot.instances.every((i) => i.zone === 'az1' && !('lease' in i)),
      'instances carry their zone, not their lease',
    );

    const view = new WatchView(client, 'o');
    const revs: number[] = [];
    revs.push((await registry.execute({ op: 'register', instance: spec('orders', 4) })).revision);
    await registry.execute({ op: 'register', instance: spec('payments', 2) });
    revs.push((await registry.execute({ op: 'deregister', key: spec('orders', 1) })).revision);
    revs.push((await registry.execute({ op: 'zone.weight', zone: 'az1', weight: 30 })).revision);
    revs.push(
      (await registry.execute({ op: 'update', key: spec('orders', 2), patch: { metadata: { v: '2' } } })).revision,
    );
    await view.until((v) => v.changes.length >= 4);
    assert.deepEqual(
      view.changes.map((c) => c.revision),
      revs,
      'exactly the subscribed service changes (and zone weights), in order',
    );
    assert.ok(view.changes.every((c) => c.revision > snapshot.revision));
    assert.deepEqual(
      view.changes.map((c) => (c.kind === 'instance' ? `${c.action}:${c.instance.port}` : c.kind)),
      ['put:4', 'delete:1', 'zoneWeight', 'put:2'],
    );
    assert.deepEqual([...view.instances.values()].map((i) => i.port).sort(), [2, 3, 4]);

    // Nothing changes for orders: progress still tells the client how current it is.
    const last = (await registry.execute({ op: 'register', instance: spec('payments', 3) })).revision;
    const progress = await client.take((m) => m.type === 'progress' && m.revision >= last);
    assert.ok(progress.type === 'progress' && progress.revision >= last);
    assert.equal(view.sync().changes.length, 4, 'no delta for a service not subscribed');
  });

  it('an `all` subscription sees namespaces and every service, and a client can add and remove subscriptions', async (t) => {
    const node = await startSingleNode();
    t.after(() => node.close());
    const { registry } = node;
    await registry.execute({ op: 'register', instance: spec('a', 1) });
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    client.send({ type: 'subscribe', sub: 'everything', all: true });
    const snap = await client.take(is('snapshot', 'everything'));
    assert.deepEqual(
      snap.namespaces.map((n) => n.id),
      ['public'],
    );
    assert.equal(snap.instances.length, 1);

    client.send({ type: 'subscribe', sub: 'b-only', services: [ref('b')] });
    const bSnap = await client.take(is('snapshot', 'b-only'));
    assert.equal(bSnap.instances.length, 0);
    await registry.execute({ op: 'register', instance: spec('b', 1) });
    await client.take(is('delta', 'b-only'));
    client.send({ type: 'unsubscribe', sub: 'b-only' });
    await client.take(is('unsubscribed', 'b-only'));
    await registry.execute({ op: 'register', instance: spec('b', 2) });
    await registry.execute({ op: 'namespace.put', namespace: { id: 'dev', name: 'dev', description: '' } });
    const all = new WatchView(client, 'everything');
    await all.until((v) => v.changes.some((c) => c.kind === 'namespace'));
    assert.ok(
      !client.messages.some((m) => m.type === 'delta' && m.sub === 'b-only' && m.revision > bSnap.revision + 1),
    );
    assert.equal(node.stats.subscriptions, 1);
  });

  it('resumes from a revision with exactly the missed changes, no snapshot', async (t) => {
    const node = await startSingleNode();
    t.after(() => node.close());
    const { registry } = node;
    const steady = await connectWatch(node.url);
    t.after(() => steady.terminate());
    steady.send({ type: 'subscribe', sub: 's', all: true });
    const steadyView = new WatchView(steady, 's');

    const first = await connectWatch(node.url);
    first.send({ type: 'subscribe', sub: 'x', services: [ref('orders')] });
    const firstView = new WatchView(first, 'x');
    for (let p = 1; p <= 5; p++) await registry.execute({ op: 'register', instance: spec('orders', p) });
    await firstView.until((v) => v.instances.size === 5);
    await first.close();
    const lastSeen = firstView.revision;

    for (let p = 6; p <= 9; p++) await registry.execute({ op: 'register', instance: spec('orders', p) });
    await registry.execute({ op: 'deregister', key: spec('orders', 2) });

    const again = await connectWatch(node.url);
    t.after(() => again.terminate());
    again.send({ type: 'subscribe', sub: 'x', services: [ref('orders')], fromRevision: lastSeen });
    const subscribed = await again.take(is('subscribed', 'x'));
    assert.equal(subscribed.resumed, true);
    assert.equal(subscribed.revision, lastSeen);
    const resumed = WatchView.continuing(firstView, again, 'x');
    await resumed.until((v) => v.changes.length >= 5);
    assert.ok(!again.messages.some((m) => m.type === 'snapshot'), 'no snapshot on resume');
    await steadyView.until((v) => v.revision >= resumed.revision);
    const expected = steadyView.instanceChanges().filter((c) => c.revision > lastSeen);
    assert.deepEqual(
      resumed.changes.map((c) => c.revision),
      expected.map((c) => c.revision),
      'the resumed stream is exactly the changes a steady watcher saw after the revision',
    );
    assert.deepEqual([...resumed.instances.keys()].sort(), [...steadyView.instances.keys()].sort());
    assert.equal(node.stats.resumes, 1);
  });

  it('a revision older than the history (or never reached) gets a snapshot instead', async (t) => {
    const node = await startSingleNode({ watchHistoryMax: 10, limits: { catchUpWaitMs: 200 } });
    t.after(() => node.close());
    const { registry } = node;
    const early = registry.revision;
    for (let p = 1; p <= 30; p++) await registry.execute({ op: 'register', instance: spec('orders', p) });
    assert.ok(registry.hub.oldestResumable > early);

    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    client.send({ type: 'subscribe', sub: 'old', services: [ref('orders')], fromRevision: early });
    const old = await client.take(is('subscribed', 'old'));
    assert.equal(old.resumed, false);
    const snap = await client.take(is('snapshot', 'old'));
    assert.equal(snap.instances.length, 30);

    client.send({ type: 'subscribe', sub: 'future', all: true, fromRevision: registry.revision + 1000 });
    const future = await client.take(is('subscribed', 'future'));
    assert.equal(future.resumed, false, 'a revision this zone never reached is not resumable');
    assert.equal((await client.take(is('snapshot', 'future'))).instances.length, 30);
  });

  it('a resume from a revision this replica has not applied yet waits for it to catch up', async (t) => {
    const node = await startSingleNode({ limits: { catchUpWaitMs: 5000 } });
    t.after(() => node.close());
    const { registry } = node;
    await registry.execute({ op: 'register', instance: spec('orders', 1) });
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    // As if the client came from a replica two revisions ahead of this one.
    const ahead = registry.hub.revision + 2;
    client.send({ type: 'subscribe', sub: 'x', services: [ref('orders')], fromRevision: ahead });
    await registry.execute({ op: 'register', instance: spec('orders', 2) });
    await registry.execute({ op: 'register', instance: spec('orders', 3) });
    const subscribed = await client.take(is('subscribed', 'x'));
    assert.equal(subscribed.resumed, true);
    assert.equal(subscribed.revision, ahead);
    const put = (await registry.execute({ op: 'register', instance: spec('orders', 4) })).revision;
    const delta = await client.take(is('delta', 'x'));
    assert.deepEqual(
      delta.changes.map((c) => c.revision),
      [put],
      'only what came after the revision resumed from',
    );
  });

  it('a replica that replaces its state from a Raft snapshot resyncs every watcher', async (t) => {
    const node = await startSingleNode();
    t.after(() => node.close());
    const { registry } = node;
    await registry.execute({ op: 'register', instance: spec('orders', 1) });
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    client.send({ type: 'subscribe', sub: 'x', services: [ref('orders')] });
    const view = new WatchView(client, 'x');
    await view.until((v) => v.snapshots === 1);
    registry.hub.reset(registry.revision);
    const resync = await client.take(is('resync', 'x'));
    assert.match(resync.reason, /snapshot/);
    await view.until((v) => v.snapshots === 2 && v.instances.size === 1);
    await registry.execute({ op: 'register', instance: spec('orders', 2) });
    await view.until((v) => v.instances.size === 2);
  });

  it('a slow consumer is resynced: its backlog stays bounded and it gets a fresh snapshot', async (t) => {
    const queueMax = 8;
    const highWaterBytes = 64 * 1024;
    const messageBytesMax = 32 * 1024;
    const node = await startSingleNode({ watchQueueMax: queueMax, limits: { highWaterBytes, messageBytesMax } });
    t.after(() => node.close());
    const { registry } = node;
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    client.send({ type: 'subscribe', sub: 'all', all: true });
    await client.take(is('snapshot', 'all'));

    // Stop reading; write far more than the kernel's socket buffers hold.
    client.ws.pause();
    const big = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
    let written = 0;
    for (let p = 1; node.stats.resyncs === 0 && p <= 2000; p++) {
      await registry.execute({ op: 'register', instance: spec('bulk', p, big) });
      written++;
    }
    assert.ok(node.stats.resyncs >= 1, `no resync after ${written} large registrations`);
    // Bounded: the hub queue never holds more than queueMax events, and the socket never more than
    // the high-water mark plus one drained batch (at most queueMax revisions) or one snapshot part.
    const change = JSON.stringify(registry.state.instance(spec('bulk', 1))).length + 200;
    assert.ok(
      node.stats.bufferedBytesPeak <= highWaterBytes + Math.max(queueMax * change, messageBytesMax + change),
      `peak ${node.stats.bufferedBytesPeak} bytes buffered`,
    );

    client.ws.resume();
    const view = new WatchView(client, 'all');
    await client.take(is('resync', 'all'), 30_000);
    await view.until((v) => v.snapshots >= 2 && v.instances.size === written, 30_000, 'fresh snapshot applied');
    assert.deepEqual([...view.instances.keys()].sort(), [...registry.state.allInstances()].map((i) => i.id).sort());
    // And it streams again afterwards.
    await registry.execute({ op: 'deregister', key: spec('bulk', 1) });
    await view.until((v) => v.instances.size === written - 1);
  });

  it('a socket that stays full past the slow-consumer timeout is closed', async (t) => {
    const node = await startSingleNode({
      limits: { highWaterBytes: 64 * 1024, slowConsumerTimeoutMs: 300, sweepMs: 20 },
    });
    t.after(() => node.close());
    const { registry } = node;
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    client.send({ type: 'subscribe', sub: 'all', all: true });
    await client.take(is('snapshot', 'all'));
    client.ws.pause();
    const big = Object.fromEntries(Array.from({ length: 48 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
    for (let p = 1; node.stats.slowConsumersClosed === 0 && p <= 2000; p++) {
      await registry.execute({ op: 'register', instance: spec('bulk', p, big) });
    }
    await client.until(() => node.stats.slowConsumersClosed === 1, 10_000, 'slow consumer closed');
    client.ws.resume();
    assert.ok([4001, 1006].includes((await client.closed).code));
    await client.until(() => node.stats.watchConnections === 0, 10_000, 'server side released');
  });

  it('bounds subscriptions per socket and services per subscription and per socket', async (t) => {
    const node = await startSingleNode({
      limits: { subscriptionsPerConnectionMax: 2, servicesPerSubscriptionMax: 3, servicesPerConnectionMax: 4 },
    });
    t.after(() => node.close());
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    const svc = (...names: string[]) => names.map((service) => ({ service }));

    client.send({ type: 'subscribe', sub: 'wide', services: svc('a', 'b', 'c', 'd') });
    assert.equal((await client.take(is('error'))).code, 'VALIDATION_FAILED');
    client.send({ type: 'subscribe', sub: 'one', services: svc('a', 'b') });
    await client.take(is('snapshot', 'one'));
    client.send({ type: 'subscribe', sub: 'one', services: svc('c') });
    const dup = await client.take(is('error'));
    assert.equal(dup.code, 'CONFLICT');
    assert.equal(dup.sub, 'one');
    client.send({ type: 'subscribe', sub: 'two', services: svc('c', 'd', 'e') });
    assert.equal((await client.take(is('error'))).code, 'RATE_LIMITED', 'five services over the socket');
    client.send({ type: 'subscribe', sub: 'two', services: svc('c', 'd') });
    await client.take(is('snapshot', 'two'));
    client.send({ type: 'subscribe', sub: 'three', all: true });
    assert.equal((await client.take(is('error'))).code, 'RATE_LIMITED', 'a third subscription');
    client.send({ type: 'unsubscribe', sub: 'one' });
    await client.take(is('unsubscribed', 'one'));
    client.send({ type: 'subscribe', sub: 'three', all: true });
    await client.take(is('snapshot', 'three'));
    client.send({ type: 'unsubscribe', sub: 'nope' });
    assert.equal((await client.take(is('error'))).code, 'NOT_FOUND');
  });

  it('bounds sockets per replica: the upgrade is refused with 429', async (t) => {
    const node = await startSingleNode({ limits: { watchConnectionsMax: 2 } });
    t.after(() => node.close());
    const a = await connectWatch(node.url);
    const b = await connectWatch(node.url);
    t.after(() => a.terminate());
    t.after(() => b.terminate());
    await assert.rejects(connectWatch(node.url), (err: { statusCode?: number }) => err.statusCode === 429);
    await a.close();
    await b.take(is('hello'));
    const deadline = Date.now() + 5000;
    for (;;) {
      try {
        const c = await connectWatch(node.url);
        await c.close();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
      }
    }
    assert.ok(node.stats.refusedConnections >= 1);
    const plain = await fetch(`${node.url}/v1/watch`);
    assert.equal(plain.status, 400);
    assert.equal(((await plain.json()) as { code: string }).code, 'VALIDATION_FAILED');
  });

  it('answers malformed frames with an error and keeps serving; an oversized frame closes the socket', async (t) => {
    const node = await startSingleNode({ limits: { frameBytesMax: 4096 } });
    t.after(() => node.close());
    const client = await connectWatch(node.url);
    t.after(() => client.terminate());
    await client.take(is('hello'));

    client.sendRaw('{not json');
    assert.match((await client.take(is('error'))).message, /not valid JSON/);
    client.sendRaw(Buffer.from('{"type":"subscribe"}'), true);
    assert.match((await client.take(is('error'))).message, /text frames/);
    client.sendRaw(JSON.stringify({ type: 'launch', sub: 'x' }));
    const unknown = await client.take(is('error'));
    assert.equal(unknown.code, 'VALIDATION_FAILED');
    assert.equal(unknown.sub, 'x');
    client.sendRaw(JSON.stringify({ type: 'subscribe', sub: 'bad', services: [{ service: 'a/b' }] }));
    const badName = await client.take(is('error'));
    assert.equal(badName.code, 'VALIDATION_FAILED');
    assert.ok(badName.fields?.some((f) => f.field === 'services.0.service'));
    client.sendRaw(JSON.stringify({ type: 'subscribe', sub: 'both', all: true, services: [{ service: 'a' }] }));
    assert.equal((await client.take(is('error'))).sub, 'both');
    client.sendRaw(JSON.stringify({ type: 'subscribe', sub: 'neg', all: true, fromRevision: -1 }));
    assert.equal((await client.take(is('error'))).code, 'VALIDATION_FAILED');
    client.sendRaw('null');
    await client.take(is('error'));

    client.send({ type: 'subscribe', sub: 'ok', all: true });
    await client.take(is('snapshot', 'ok'));
    assert.ok(node.stats.badFrames >= 7);

    client.sendRaw(JSON.stringify({ type: 'subscribe', sub: 'x'.repeat(5000), all: true }));
    const closed = await client.closed;
    assert.equal(closed.code, 1009);
    const next = await connectWatch(node.url);
    t.after(() => next.terminate());
    await next.take(is('hello'));
  });

  it('pings; closes sockets that stop answering, and sockets that never subscribe', async (t) => {
    const node = await startSingleNode({ limits: { pingIntervalMs: 250, idleTimeoutMs: 300, sweepMs: 20 } });
    t.after(() => node.close());
    const idle = await connectWatch(node.url);
    assert.equal((await idle.closed).code, 4000);

    const deaf = await connectWatch(node.url, { autoPong: false });
    deaf.send({ type: 'subscribe', sub: 'a', all: true });
    await deaf.take(is('snapshot', 'a'));
    assert.equal((await deaf.closed).code, 4000);

    const alive = await connectWatch(node.url);
    t.after(() => alive.terminate());
    alive.send({ type: 'subscribe', sub: 'a', all: true });
    let pings = 0;
    alive.ws.on('ping', () => pings++);
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(pings >= 2, `pinged ${pings} times`);
    assert.equal(alive.ws.readyState, alive.ws.OPEN, 'a client that answers pings stays connected');
  });
});
