import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createFederationWatchApi } from '../../../src/federation/watch/federation-watch-plugin.js';
import type { FederationWatchLimits } from '../../../src/federation/watch/watch-limits.js';
import { StaticView } from '../../helpers/static-view.js';
import { type FederationTestApp, startFederationTestApp } from './federation-test-app.js';
import { type Msg, WatchClient } from './watch-client.js';

const FAST: Partial<FederationWatchLimits> = { sweepMs: 20, progressIntervalMs: 100 };

/** A view with two zones: orders has 2 instances in az1 and 1 in az2; pay has 1 in az2. */
function seededView(): StaticView {
  const view = new StaticView({ zones: ['az1', 'az2'] });
  view.putService({ service: 'orders', metadata: { team: 'a' } });
  view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.1', port: 8080, weight: 100 });
  view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.2', port: 8080, weight: 200 });
  view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.1', port: 8080, weight: 100 });
  view.putInstance({ zone: 'az2', service: 'pay', ip: '10.1.0.9', port: 9090 });
  return view;
}

async function withApp(
  view: StaticView,
  limits: Partial<FederationWatchLimits>,
  fn: (app: FederationTestApp, clients: WatchClient[]) => Promise<void>,
): Promise<void> {
  const app = await startFederationTestApp(view, [createFederationWatchApi({ ...FAST, ...limits })]);
  const clients: WatchClient[] = [];
  try {
    await fn(app, clients);
  } finally {
    for (const c of clients) c.close();
    await app.close();
  }
}

async function connect(app: FederationTestApp, clients: WatchClient[]): Promise<WatchClient> {
  const c = await WatchClient.open(app.wsUrl);
  clients.push(c);
  return c;
}

const ids = (list: Msg[]): string[] => list.map((i) => `${i.zone}/${i.id}`).sort();

describe('federation watch: the zone protocol over the merged view', () => {
  test('hello names the federation node; an all subscription gets subscribed, zones, a snapshot, then deltas', async () => {
    const view = seededView();
    await withApp(view, {}, async (app, clients) => {
      const c = await connect(app, clients);
      const hello = await c.nextOfType('hello');
      assert.equal(hello.protocol, 1);
      assert.equal(hello.zone, '*');
      assert.equal(hello.node, 'fed-test');
      assert.equal(hello.revision, view.revision);
      assert.equal(typeof hello.limits.frameBytesMax, 'number');

      c.send({ type: 'subscribe', sub: 'everything', all: true });
      const subscribed = await c.nextOfType('subscribed');
      assert.deepEqual(subscribed, { type: 'subscribed', sub: 'everything', resumed: false, revision: view.revision });
      const zones = await c.nextOfType('zones');
      assert.equal(zones.revision, view.revision);
      assert.deepEqual(
        zones.zones.map((z: Msg) => [z.zone, z.state, z.weight, z.serving]),
        [
          ['az1', 'live', 100, true],
          ['az2', 'live', 100, true],
        ],
      );
      const snap = await c.snapshot('everything');
      assert.equal(snap.revision, view.revision);
      assert.deepEqual(snap.namespaces, [{ id: 'public', name: 'public', description: '' }]);
      assert.deepEqual(
        snap.services.map((s) => s.service),
        ['orders'],
      );
      assert.deepEqual(snap.zoneWeights, [
        { zone: 'az1', weight: 100 },
        { zone: 'az2', weight: 100 },
      ]);
      assert.equal(snap.instances.length, 4);
      const heavy = snap.instances.find((i) => i.ip === '10.0.0.2')!;
      assert.equal(heavy.zone, 'az1');
      assert.equal(heavy.weight, 200);
      assert.equal(heavy.effectiveWeight, 200);
      assert.equal(heavy.stale, false);

      const put = view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.2', port: 8080, healthy: false });
      const delta = await c.nextOfType('delta');
      assert.equal(delta.sub, 'everything');
      assert.equal(delta.revision, view.revision);
      assert.equal(delta.changes.length, 1);
      assert.equal(delta.changes[0].kind, 'instance');
      assert.equal(delta.changes[0].action, 'put');
      assert.equal(delta.changes[0].revision, view.revision);
      assert.equal(delta.changes[0].instance.id, put.id);
      assert.equal(delta.changes[0].instance.effectiveWeight, 0, 'unhealthy: no traffic');

      view.deleteInstance('az1', '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders');
      const del = await c.nextOfType('delta');
      assert.equal(del.changes[0].action, 'delete');
      assert.equal(del.changes[0].instance.ip, '10.0.0.1');

      view.putNamespace({ id: 'dev', name: 'Dev', description: '' });
      const ns = await c.nextOfType('delta');
      assert.deepEqual(ns.changes[0], {
        kind: 'namespace',
        action: 'put',
        revision: view.revision,
        namespace: { id: 'dev', name: 'Dev', description: '' },
      });
    });
  });

  test('a service subscription (namespace and group defaulted) sees only its services, zone weights, no namespaces', async () => {
    const view = seededView();
    await withApp(view, {}, async (app, clients) => {
      const c = await connect(app, clients);
      c.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }] });
      await c.nextOfType('subscribed');
      const snap = await c.snapshot('o');
      assert.deepEqual(snap.namespaces, []);
      assert.deepEqual(ids(snap.instances), [
        'az1/10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
        'az1/10.0.0.2#8080#DEFAULT#DEFAULT_GROUP@@orders',
        'az2/10.1.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders',
      ]);
      assert.equal(snap.services.length, 1);

      view.putInstance({ zone: 'az1', service: 'pay', ip: '10.0.0.9', port: 9090 });
      view.putNamespace({ id: 'dev', name: 'dev', description: '' });
      view.putInstance({ zone: 'az1', service: 'orders', group: 'other', ip: '10.0.0.7', port: 1 });
      view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.3', port: 8080 });
      const d = await c.nextOfType('delta');
      assert.equal(d.changes.length, 1, 'only the orders change reaches this subscription');
      assert.equal(d.changes[0].instance.ip, '10.0.0.3');
      assert.equal(d.revision, view.revision);
    });
  });

  test('a zone weight change re-emits the zone instances with their new effective weight, and a zones message', async () => {
    const view = seededView();
    await withApp(view, {}, async (app, clients) => {
      const c = await connect(app, clients);
      c.send({
        type: 'subscribe',
        sub: 'o',
        services: [{ namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' }],
      });
      await c.nextOfType('subscribed');
      await c.nextOfType('zones');
      await c.snapshot('o');

      view.setZoneWeight('az1', 50);
      const d = await c.nextOfType('delta');
      const weight = d.changes.find((x: Msg) => x.kind === 'zoneWeight');
      assert.deepEqual(weight, { kind: 'zoneWeight', revision: view.revision, zone: 'az1', weight: 50 });
      const puts = d.changes.filter((x: Msg) => x.kind === 'instance');
      assert.deepEqual(
        puts.map((x: Msg) => [x.instance.ip, x.instance.weight, x.instance.effectiveWeight]),
        [
          ['10.0.0.1', 100, 50],
          ['10.0.0.2', 200, 100],
        ],
      );
      const zones = await c.nextOfType('zones');
      assert.equal(zones.zones.find((z: Msg) => z.zone === 'az1').weight, 50);

      view.setZoneState('az2', 'stale');
      const d2 = await c.nextOfType('delta');
      assert.ok(
        d2.changes.every((x: Msg) => x.kind === 'instance'),
        'zone states never appear as delta changes',
      );
      assert.deepEqual(
        d2.changes.map((x: Msg) => [x.instance.ip, x.instance.stale]),
        [['10.1.0.1', true]],
      );
      const z2 = await c.nextOfType('zones');
      const az2 = z2.zones.find((z: Msg) => z.zone === 'az2');
      assert.equal(az2.state, 'stale');
      assert.equal(typeof az2.staleSinceMs, 'number');

      view.setZoneState('az2', 'stale', false);
      const d3 = await c.nextOfType('delta');
      assert.deepEqual(
        d3.changes.map((x: Msg) => [x.action, x.instance.ip]),
        [['delete', '10.1.0.1']],
      );
    });
  });

  test('a large snapshot comes in bounded parts that add up to the view', async () => {
    const view = new StaticView({ zones: ['az1', 'az2'] });
    view.batch(() => {
      for (let i = 0; i < 60; i++) {
        view.putInstance({ zone: i % 2 ? 'az1' : 'az2', service: 'orders', ip: `10.0.${i >> 8}.${i & 255}`, port: 80 });
      }
    });
    await withApp(view, { messageBytesMax: 2000 }, async (app, clients) => {
      const c = await connect(app, clients);
      c.send({ type: 'subscribe', sub: 'all', all: true });
      const snap = await c.snapshot('all');
      assert.ok(snap.parts >= 5, `expected several parts, got ${snap.parts}`);
      assert.equal(snap.instances.length, 60);
      assert.equal(new Set(ids(snap.instances)).size, 60);
      assert.equal(snap.zoneWeights.length, 2, 'zone weights once, in part 0');
      for (const raw of c.raw.filter((r) => r.startsWith('{"type":"snapshot"'))) {
        assert.ok(raw.length < 2000 + 1200, `part of ${raw.length} bytes`);
      }
    });
  });

  test('resume: from a revision in the history only what came after; outside it, a snapshot', async () => {
    const view = seededView();
    await withApp(view, { historyChangesMax: 5 }, async (app, clients) => {
      const c1 = await connect(app, clients);
      c1.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }] });
      const first = await c1.snapshot('o');
      c1.close();

      view.putInstance({ zone: 'az1', service: 'orders', ip: '10.0.0.3', port: 8080 });
      view.putInstance({ zone: 'az1', service: 'pay', ip: '10.0.0.4', port: 8080 });
      view.putInstance({ zone: 'az2', service: 'orders', ip: '10.1.0.3', port: 8080 });

      const c2 = await connect(app, clients);
      c2.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }], fromRevision: first.revision });
      const sub = await c2.nextOfType('subscribed');
      assert.deepEqual(sub, { type: 'subscribed', sub: 'o', resumed: true, revision: first.revision });
      const zones = await c2.nextOfType('zones');
      assert.equal(zones.zones.length, 2);
      const d = await c2.nextOfType('delta');
      assert.deepEqual(
        d.changes.map((x: Msg) => x.instance.ip),
        ['10.0.0.3', '10.1.0.3'],
      );
      assert.equal(d.revision, view.revision);
      assert.equal(c2.pending().filter((m) => m.type === 'snapshot').length, 0);

      // Push the first revision out of the (5-change) history.
      for (let i = 0; i < 8; i++) view.putInstance({ zone: 'az1', service: 'pay', ip: `10.0.1.${i}`, port: 1 });
      const c3 = await connect(app, clients);
      c3.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }], fromRevision: first.revision });
      const sub3 = await c3.nextOfType('subscribed');
      assert.equal(sub3.resumed, false);
      assert.equal(sub3.revision, view.revision);
      const snap3 = await c3.snapshot('o');
      assert.equal(snap3.instances.length, 5);

      // A revision this node never had (another federation node's): a snapshot.
      const c4 = await connect(app, clients);
      c4.send({ type: 'subscribe', sub: 'o', all: true, fromRevision: view.revision + 1_000_000 });
      assert.equal((await c4.nextOfType('subscribed')).resumed, false);
      assert.equal((await c4.snapshot('o')).instances.length, [...view.allInstances()].length);
    });
  });

  test('progress tells a quiet subscription the current revision', async () => {
    const view = seededView();
    await withApp(view, {}, async (app, clients) => {
      const c = await connect(app, clients);
      c.send({ type: 'subscribe', sub: 'o', services: [{ service: 'orders' }] });
      await c.snapshot('o');
      view.putInstance({ zone: 'az2', service: 'pay', ip: '10.1.0.10', port: 1 });
      const target = view.revision;
      const p = await c.next((m) => m.type === 'progress' && m.revision >= target);
      assert.equal(p.revision, target);
      assert.equal(c.pending().filter((m) => m.type === 'delta').length, 0);
    });
  });

  test('unsubscribe ends the deltas; requests that cannot be served are answered with errors', async () => {
    const view = seededView();
    await withApp(view, { subscriptionsPerConnectionMax: 2 }, async (app, clients) => {
      const c = await connect(app, clients);
      await c.nextOfType('hello');
      c.send('not json');
      assert.equal((await c.nextOfType('error')).code, 'VALIDATION_FAILED');
      c.ws.send(Buffer.from('{}'), { binary: true });
      assert.match((await c.nextOfType('error')).message, /text frames/);
      c.send({ type: 'subscribe', sub: 'x', all: true, services: [{ service: 'a' }] });
      const both = await c.nextOfType('error');
      assert.equal(both.code, 'VALIDATION_FAILED');
      assert.equal(both.sub, 'x');
      assert.ok(both.fields.length > 0);
      c.send({ type: 'subscribe', sub: 'bad name', all: true });
      assert.equal((await c.nextOfType('error')).code, 'VALIDATION_FAILED');
      c.send({ type: 'shout' });
      assert.equal((await c.nextOfType('error')).code, 'VALIDATION_FAILED');
      c.send({ type: 'unsubscribe', sub: 'nope' });
      const nf = await c.nextOfType('error');
      assert.equal(nf.code, 'NOT_FOUND');
      assert.equal(nf.sub, 'nope');

      c.send({ type: 'subscribe', sub: 'a', all: true });
      await c.snapshot('a');
      c.send({ type: 'subscribe', sub: 'a', all: true });
      assert.equal((await c.nextOfType('error')).code, 'CONFLICT');
      c.send({ type: 'subscribe', sub: 'b', services: [{ service: 'pay' }] });
      await c.snapshot('b');
      c.send({ type: 'subscribe', sub: 'c', all: true });
      assert.equal((await c.nextOfType('error')).code, 'RATE_LIMITED');

      c.send({ type: 'unsubscribe', sub: 'a' });
      assert.deepEqual(await c.nextOfType('unsubscribed'), { type: 'unsubscribed', sub: 'a' });
      view.putInstance({ zone: 'az1', service: 'pay', ip: '10.0.0.5', port: 1 });
      const d = await c.nextOfType('delta');
      assert.equal(d.sub, 'b', 'only the remaining subscription gets the change');
      assert.equal(c.ws.readyState, c.ws.OPEN, 'refusals leave the socket open');
    });
  });

  test('a frame above frameBytesMax closes the socket with 1009', async () => {
    await withApp(seededView(), { frameBytesMax: 1024 }, async (app, clients) => {
      const c = await connect(app, clients);
      await c.nextOfType('hello');
      c.send({ type: 'subscribe', sub: 'x'.repeat(10), all: true, pad: 'y'.repeat(4000) });
      assert.equal(await c.closed(), 1009);
    });
  });

  test('a socket without subscription is closed when idle (4000); sockets beyond the bound are refused (429)', async () => {
    await withApp(seededView(), { idleTimeoutMs: 200, watchConnectionsMax: 1 }, async (app, clients) => {
      const c = await connect(app, clients);
      await assert.rejects(WatchClient.open(app.wsUrl), /HTTP 429/);
      assert.equal(await c.closed(), 4000);
      // Once the first is gone, there is room again.
      const again = await connect(app, clients);
      await again.nextOfType('hello');
    });
  });

  test('a view that is not ready yet gets no snapshot until it is', async () => {
    const view = seededView();
    view.ready = false;
    await withApp(view, {}, async (app, clients) => {
      const c = await connect(app, clients);
      c.send({ type: 'subscribe', sub: 'all', all: true });
      await new Promise((r) => setTimeout(r, 150));
      assert.deepEqual(
        c.pending().map((m) => m.type),
        ['hello'],
      );
      view.ready = true;
      const sub = await c.nextOfType('subscribed');
      assert.equal(sub.resumed, false);
      assert.equal((await c.snapshot('all')).instances.length, 4);
    });
  });

  test('shutting down closes watch sockets with 1001 or 1005 (both say: reconnect elsewhere)', async () => {
    const view = seededView();
    const app = await startFederationTestApp(view, [createFederationWatchApi(FAST)]);
    const c = await WatchClient.open(app.wsUrl);
    try {
      c.send({ type: 'subscribe', sub: 'all', all: true });
      await c.snapshot('all');
      const closing = app.close();
      assert.ok([1001, 1005].includes(await c.closed()));
      await closing;
    } finally {
      c.close();
      await app.close();
    }
  });
});

describe('federation watch: slow readers', () => {
  let view: StaticView;
  let app: FederationTestApp;
  before(async () => {
    view = new StaticView({ zones: ['az1'] });
    app = await startFederationTestApp(view, [
      createFederationWatchApi({ ...FAST, highWaterBytes: 64 * 1024, queueChangesMax: 50 }),
    ]);
  });
  after(async () => app.close());

  test('a reader that stops reading is resynced with a fresh snapshot once it reads again', async () => {
    const c = await WatchClient.open(app.wsUrl);
    try {
      c.send({ type: 'subscribe', sub: 'all', all: true });
      await c.snapshot('all');
      // Stop reading: the server's socket buffer fills up, its queue overflows.
      const tcp = (c.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
      tcp.pause();
      const pad = 'p'.repeat(2000);
      for (let i = 0; i < 6000; i++) {
        const ip = `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`;
        view.putInstance({ zone: 'az1', service: 'big', ip, port: 80, metadata: { pad } });
        // Let the server pump between changes, so only a full socket (not a burst) overflows the queue.
        if (i % 10 === 0) await new Promise((r) => setImmediate(r));
      }
      await new Promise((r) => setTimeout(r, 100));
      tcp.resume();
      const resync = await c.nextOfType('resync', 15_000);
      assert.equal(resync.sub, 'all');
      assert.ok(app.app.server.listening);
      view.putInstance({ zone: 'az1', service: 'small', ip: '10.9.9.9', port: 1 });
      // Rebuild the client's view from the snapshot after the resync and the deltas after it.
      const target = view.revision;
      let held = new Map((await c.snapshot('all')).instances.map((i) => [i.id as string, i]));
      for (;;) {
        const m = await c.next((x) => x.sub === 'all' && ['delta', 'resync'].includes(x.type), 15_000);
        if (m.type === 'resync') {
          held = new Map((await c.snapshot('all')).instances.map((i) => [i.id as string, i]));
          continue;
        }
        for (const x of m.changes) {
          if (x.action === 'put') held.set(x.instance.id, x.instance);
          else held.delete(x.instance.id);
        }
        if (m.revision >= target) break;
      }
      assert.equal(held.size, 6001);
    } finally {
      c.close();
    }
  });
});
