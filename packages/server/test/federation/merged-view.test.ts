import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FederatedChange, FederatedInstance } from '../../src/federation/federated-view.js';
import { localityMultipliers } from '../../src/federation/view/effective-weights.js';
import { MergedView, type MergedViewOptions, startRevisionAt } from '../../src/federation/view/merged-view.js';
import type { ZoneSnapshot } from '../../src/federation/zones/zone-feed.js';
import type { WireChange, WireInstance, WireService } from '../../src/protocol/wire-model.js';

// The merged view driven directly through its ZoneFeed side, as the zone watchers drive it.

const ORDERS = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };

function inst(zone: string, n: number, over: Partial<WireInstance> = {}): WireInstance {
  const service = over.service ?? 'orders';
  return {
    id: `10.0.0.${n}#8080#DEFAULT#DEFAULT_GROUP@@${service}`,
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service,
    cluster: 'DEFAULT',
    ip: `10.0.0.${n}`,
    port: 8080,
    weight: 100,
    healthy: true,
    enabled: true,
    ephemeral: false,
    zone,
    metadata: {},
    heartbeat: { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 30_000 },
    check: null,
    registeredAt: 1,
    updatedAt: 1,
    revision: 1,
    ...over,
  };
}

function svc(service: string, over: Partial<WireService> = {}): WireService {
  return {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service,
    protectThreshold: 0,
    metadata: {},
    createdAt: 1,
    revision: 1,
    ...over,
  };
}

function snapshot(revision: number, instances: WireInstance[], extra: Partial<ZoneSnapshot> = {}): ZoneSnapshot {
  return {
    revision,
    namespaces: [{ id: 'public', name: 'public', description: '' }],
    services: [...new Set(instances.map((i) => i.service))].map((s) => svc(s)),
    instances,
    zoneWeights: [],
    ...extra,
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

function makeView(over: Partial<MergedViewOptions> = {}): {
  view: MergedView;
  batches: { revision: number; changes: readonly FederatedChange[] }[];
} {
  const view = new MergedView({
    zones: [
      { zone: 'az1', replicas: ['http://a:1'] },
      { zone: 'az2', replicas: ['http://b:1'] },
    ],
    mergeMode: 'flat',
    overprovisioning: 1.4,
    policy: 'keep',
    dropAfterMs: 30_000,
    readyGraceMs: 60_000,
    ...over,
  });
  const batches: { revision: number; changes: readonly FederatedChange[] }[] = [];
  view.onChange((revision, changes) => batches.push({ revision, changes }));
  return { view, batches };
}

/** 5 + 5 instances of orders, both zones live. */
function fivePlusFive(over: Partial<MergedViewOptions> = {}) {
  const v = makeView(over);
  v.view.zoneSnapshot(
    'az1',
    'http://a:1',
    snapshot(
      10,
      range(1, 5).map((n) => inst('az1', n)),
    ),
  );
  v.view.zoneSnapshot(
    'az2',
    'http://b:1',
    snapshot(
      20,
      range(1, 5).map((n) => inst('az2', n)),
    ),
  );
  v.batches.length = 0;
  return v;
}

function deletes(zone: string, ns: number[], revision: number): WireChange[] {
  return ns.map((n) => ({ kind: 'instance', action: 'delete', revision, instance: inst(zone, n) }) as const);
}

function share(view: MergedView, zone: string): number {
  return view.service(ORDERS)!.zones[zone]!.share;
}

function instancesOf(view: MergedView, zone: string): FederatedInstance[] {
  return view.service(ORDERS)!.instances.filter((i) => i.zone === zone);
}

describe('merging', () => {
  test('one service across zones; instances keyed by zone and id (the same id in two zones is two instances)', () => {
    const { view } = fivePlusFive();
    const s = view.service(ORDERS)!;
    assert.equal(s.total, 10);
    assert.equal(s.instances.length, 10);
    assert.deepEqual(
      s.instances.map((i) => i.zone),
      [...Array(5).fill('az1'), ...Array(5).fill('az2')],
      'ordered by zone (config order), then id',
    );
    assert.equal(s.instances[0]!.id, s.instances[5]!.id);
    assert.deepEqual(Object.keys(s.zones), ['az1', 'az2']);
    assert.deepEqual(s.zones['az1'], { total: 5, healthy: 5, serving: 5, share: 0.5 });
    const list = view.listServices();
    assert.equal(list.length, 1);
    assert.equal(list[0]!.total, 10);
    assert.equal(view.listServices({ namespace: 'other' }).length, 0);
    assert.equal([...view.allInstances()].length, 10);
    assert.deepEqual(
      view.namespaces().map((n) => n.id),
      ['public'],
    );
  });

  test('service settings come from the first configured zone that holds them; a delete falls back', () => {
    const { view, batches } = makeView();
    view.zoneSnapshot('az2', 'http://b:1', {
      ...snapshot(5, [inst('az2', 1)]),
      services: [svc('orders', { metadata: { from: 'az2' } })],
    });
    assert.equal(view.service(ORDERS)!.info?.metadata['from'], 'az2');
    view.zoneSnapshot('az1', 'http://a:1', {
      ...snapshot(5, [inst('az1', 1)]),
      services: [svc('orders', { metadata: { from: 'az1' } })],
    });
    assert.equal(view.service(ORDERS)!.info?.metadata['from'], 'az1');
    batches.length = 0;
    view.zoneDelta('az1', 6, [{ kind: 'service', action: 'delete', revision: 6, service: svc('orders') }]);
    assert.equal(view.service(ORDERS)!.info?.metadata['from'], 'az2');
    const serviceChanges = batches.flatMap((b) => b.changes).filter((c) => c.kind === 'service');
    assert.equal(serviceChanges.length, 1);
    assert.equal(serviceChanges[0]!.kind === 'service' && serviceChanges[0]!.action, 'put');
  });

  test('a snapshot replacing a zone view emits only the differences', () => {
    const { view, batches } = fivePlusFive();
    view.zoneSnapshot(
      'az1',
      'http://a:1',
      snapshot(30, [
        inst('az1', 1),
        inst('az1', 2),
        inst('az1', 3),
        inst('az1', 4, { healthy: false, revision: 29, updatedAt: 2 }),
        inst('az1', 6, { revision: 30 }),
      ]),
    );
    assert.equal(batches.length, 1);
    const changes = batches[0]!.changes.filter((c) => c.kind === 'instance');
    const summary = changes.map((c) => (c.kind === 'instance' ? `${c.action} ${c.instance.ip}` : ''));
    assert.deepEqual(summary.sort(), ['delete 10.0.0.5', 'put 10.0.0.4', 'put 10.0.0.6']);
    assert.equal(view.zone('az1')!.revision, 30);
    assert.equal(view.zone('az1')!.healthyInstances, 4);
  });

  test('revision starts from the process start time and grows by one per batch with changes', () => {
    const nowMs = Date.UTC(2026, 0, 1);
    const { view, batches } = makeView({ now: () => nowMs });
    assert.equal(view.revision, startRevisionAt(nowMs));
    assert.equal(view.revision, Math.floor((nowMs - Date.UTC(2020, 0, 1)) / 1000) * 1_000_000);
    const r0 = view.revision;
    view.zoneSnapshot('az1', 'http://a:1', snapshot(1, [inst('az1', 1)]));
    view.zoneDelta('az1', 2, [{ kind: 'instance', action: 'put', revision: 2, instance: inst('az1', 2) }]);
    view.zoneProgress('az1', 5);
    view.zoneDelta('az1', 6, []);
    assert.deepEqual(
      batches.map((b) => b.revision),
      [r0 + 1, r0 + 2],
    );
    assert.equal(view.revision, r0 + 2);
    assert.equal(view.zone('az1')!.revision, 6);
    for (const b of batches) for (const c of b.changes) assert.equal(c.revision, b.revision);
  });

  test('listeners read the new state inside the callback', () => {
    const { view } = makeView();
    const seen: number[] = [];
    view.onChange(() => seen.push(view.service(ORDERS)?.total ?? 0));
    view.zoneSnapshot('az1', 'http://a:1', snapshot(1, [inst('az1', 1), inst('az1', 2)]));
    assert.deepEqual(seen, [2]);
  });

  test('a delta touching one instance of a 100,000-instance zone emits one change', () => {
    const { view, batches } = makeView();
    const many = range(1, 100_000).map((n) =>
      inst('az1', n, { id: `i${n}`, service: `svc-${n % 1000}`, ip: `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}` }),
    );
    view.zoneSnapshot('az1', 'http://a:1', snapshot(1, many));
    assert.equal(view.zone('az1')!.instances, 100_000);
    assert.equal(view.zone('az1')!.services, 1000);
    batches.length = 0;
    const changed = { ...many[500]!, healthy: false, revision: 2 };
    view.zoneDelta('az1', 2, [{ kind: 'instance', action: 'put', revision: 2, instance: changed }]);
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.changes.length, 1);
    assert.equal(view.zone('az1')!.healthyInstances, 99_999);
  });
});

describe('effective weights', () => {
  test('flat: 5 + 5, az1 loses 4 instances -> az1 gets 1/6', () => {
    const { view, batches } = fivePlusFive();
    assert.equal(share(view, 'az1'), 0.5);
    view.zoneDelta('az1', 11, deletes('az1', [2, 3, 4, 5], 11));
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.changes.length, 4);
    assert.ok(batches[0]!.changes.every((c) => c.kind === 'instance' && c.action === 'delete'));
    assert.ok(Math.abs(share(view, 'az1') - 1 / 6) < 1e-9);
    assert.ok(view.service(ORDERS)!.instances.every((i) => i.effectiveWeight === 100));
  });

  test('flat: unhealthy or disabled instances get 0; weights follow round(weight x zoneWeight / 100)', () => {
    const { view } = fivePlusFive();
    view.zoneDelta('az1', 11, [
      ...[2, 3, 4].map(
        (n) =>
          ({ kind: 'instance', action: 'put', revision: 11, instance: inst('az1', n, { healthy: false }) }) as const,
      ),
      { kind: 'instance', action: 'put', revision: 11, instance: inst('az1', 5, { enabled: false }) },
      { kind: 'instance', action: 'put', revision: 11, instance: inst('az1', 1, { weight: 333 }) },
      { kind: 'zoneWeight', revision: 11, zone: 'az1', weight: 50 },
    ]);
    const az1 = instancesOf(view, 'az1');
    assert.deepEqual(
      az1.map((i) => i.effectiveWeight),
      [167, 0, 0, 0, 0],
    );
    const s = view.service(ORDERS)!;
    assert.deepEqual(s.zones['az1'], { total: 5, healthy: 2, serving: 1, share: 167 / 667 });
    assert.equal(s.healthy, 7);
  });

  test('locality: az1 at 1 healthy of 5 gets 28/128 of the traffic (Envoy, overprovisioning 1.4)', () => {
    const { view } = fivePlusFive({ mergeMode: 'locality' });
    assert.ok(
      view.service(ORDERS)!.instances.every((i) => i.effectiveWeight === 100),
      'healthy: same as flat',
    );
    view.zoneDelta(
      'az1',
      11,
      [2, 3, 4, 5].map(
        (n) =>
          ({ kind: 'instance', action: 'put', revision: 11, instance: inst('az1', n, { healthy: false }) }) as const,
      ),
    );
    assert.ok(Math.abs(share(view, 'az1') - 28 / 128) < 0.005, `share ${share(view, 'az1')}`);
    const az2 = instancesOf(view, 'az2');
    assert.ok(az2.every((i) => i.effectiveWeight === az2[0]!.effectiveWeight && i.effectiveWeight > 0));
  });

  test('locality: a healthy ratio at or above 1/1.4 keeps the full share', () => {
    const m = localityMultipliers(
      [
        { zoneWeight: 100, serving: true, total: 10, available: 8, availableWeight: 800, availableWeightMax: 100 },
        { zoneWeight: 100, serving: true, total: 10, available: 10, availableWeight: 1000, availableWeightMax: 100 },
      ],
      1.4,
    );
    // Both zones have factor 1, so each gets half: 800 x m0 = 1000 x m1.
    assert.ok(Math.abs(800 * m[0]! - 1000 * m[1]!) < 1e-9);
  });

  test('locality: huge services stay within 1..65535 and keep every serving instance at 1 or more', () => {
    const m = localityMultipliers(
      [
        { zoneWeight: 100, serving: true, total: 1, available: 1, availableWeight: 10_000, availableWeightMax: 10_000 },
        {
          zoneWeight: 100,
          serving: true,
          total: 100_000,
          available: 100_000,
          availableWeight: 1e6,
          availableWeightMax: 10,
        },
      ],
      1.4,
    );
    assert.ok(10_000 * m[0]! <= 65_535.0001);
    assert.ok(10 * m[1]! > 0);
  });

  test('a zone weight change re-emits the zone instances with their new weights; 0 drains the zone', () => {
    const { view, batches } = fivePlusFive();
    view.zoneDelta('az1', 11, [{ kind: 'zoneWeight', revision: 11, zone: 'az1', weight: 0 }]);
    assert.equal(batches.length, 1);
    const changes = batches[0]!.changes;
    assert.deepEqual(changes[0], { kind: 'zoneWeight', revision: batches[0]!.revision, zone: 'az1', weight: 0 });
    const puts = changes.filter((c) => c.kind === 'instance');
    assert.equal(puts.length, 5);
    assert.ok(
      puts.every((c) => c.kind === 'instance' && c.instance.zone === 'az1' && c.instance.effectiveWeight === 0),
    );
    assert.equal(share(view, 'az1'), 0);
    assert.equal(share(view, 'az2'), 1);
    assert.equal(view.zone('az1')!.weight, 0);
    // Another zone's weight stored in az1's registry is not az1's to set.
    batches.length = 0;
    view.zoneDelta('az1', 12, [{ kind: 'zoneWeight', revision: 12, zone: 'az2', weight: 10 }]);
    assert.equal(batches.length, 0);
    assert.equal(view.zone('az2')!.weight, 100);
  });

  test("a snapshot's zone weights apply (own entry only, 100 when absent)", () => {
    const { view } = makeView();
    view.zoneSnapshot(
      'az1',
      'http://a:1',
      snapshot(1, [inst('az1', 1)], {
        zoneWeights: [
          { zone: 'az2', weight: 5 },
          { zone: 'az1', weight: 30 },
        ],
      }),
    );
    view.zoneSnapshot(
      'az2',
      'http://b:1',
      snapshot(1, [inst('az2', 1)], { zoneWeights: [{ zone: 'az1', weight: 1 }] }),
    );
    assert.equal(view.zone('az1')!.weight, 30);
    assert.equal(view.zone('az2')!.weight, 100);
    assert.equal(instancesOf(view, 'az1')[0]!.effectiveWeight, 30);
  });
});

describe('zone states and policies', () => {
  test('keep (fail-static): an unreachable zone keeps serving, marked stale; the other zone is untouched', () => {
    const { view, batches } = fivePlusFive();
    const az2Before = instancesOf(view, 'az2');
    view.zoneUnreachable('az1', 1234);
    const st = view.zone('az1')!;
    assert.equal(st.state, 'stale');
    assert.equal(st.staleSinceMs, 1234);
    assert.equal(st.serving, true);
    assert.equal(st.replica, null);
    assert.equal(batches.length, 1);
    const changes = batches[0]!.changes;
    assert.equal(changes[0]!.kind, 'zoneState');
    const instanceChanges = changes.filter((c) => c.kind === 'instance');
    assert.equal(instanceChanges.length, 5);
    assert.ok(instanceChanges.every((c) => c.kind === 'instance' && c.instance.zone === 'az1' && c.instance.stale));
    assert.ok(instancesOf(view, 'az1').every((i) => i.stale && i.effectiveWeight === 100));
    assert.deepEqual(instancesOf(view, 'az2'), az2Before);
    assert.ok(
      instancesOf(view, 'az2').every((i, k) => i === az2Before[k]),
      'same objects: nothing re-emitted',
    );
    assert.equal(share(view, 'az1'), 0.5);

    view.zoneResumed('az1', 'http://a:1', 10);
    assert.equal(view.zone('az1')!.state, 'live');
    assert.equal(view.zone('az1')!.staleSinceMs, null);
    assert.ok(instancesOf(view, 'az1').every((i) => !i.stale));
  });

  test('drop: after the grace the stale zone leaves the view, and returns when it is live again', async () => {
    const { view, batches } = fivePlusFive({ policy: 'drop', dropAfterMs: 50 });
    view.zoneUnreachable('az1', Date.now());
    assert.equal(view.zone('az1')!.serving, true, 'still serving during the grace');
    assert.equal(instancesOf(view, 'az1').length, 5);
    await waitFor(() => !view.zone('az1')!.serving);
    const s = view.service(ORDERS)!;
    assert.deepEqual(Object.keys(s.zones), ['az2']);
    assert.equal(s.total, 5);
    assert.equal([...view.allInstances()].length, 5);
    const last = batches.at(-1)!.changes;
    assert.equal(last.filter((c) => c.kind === 'instance' && c.action === 'delete').length, 5);
    assert.ok(last.some((c) => c.kind === 'zoneState' && !c.status.serving));
    assert.equal(view.counts().instances, 5);
    // Changes while dropped are kept (for the resume), not shown.
    view.zoneDelta('az1', 11, deletes('az1', [5], 11));
    view.zoneResumed('az1', 'http://a:1', 11);
    assert.equal(view.zone('az1')!.serving, true);
    assert.equal(instancesOf(view, 'az1').length, 4);
    assert.ok(
      batches
        .at(-1)!
        .changes.filter((c) => c.kind === 'instance')
        .every((c) => c.kind === 'instance' && c.action === 'put'),
    );
    view.close();
  });

  test('drop with no grace removes at once; a service only in the dropped zone disappears', () => {
    const { view } = makeView({ policy: 'drop', dropAfterMs: 0 });
    view.zoneSnapshot('az1', 'http://a:1', snapshot(1, [inst('az1', 1, { service: 'only1' })]));
    view.zoneSnapshot('az2', 'http://b:1', snapshot(1, [inst('az2', 1)]));
    view.zoneUnreachable('az1', Date.now());
    assert.equal(view.service({ ...ORDERS, service: 'only1' }), undefined);
    assert.equal(view.listServices().length, 1);
    assert.equal(view.namespaces().length, 1, 'az2 still has public');
  });

  test('a zone never reached stays connecting; ready waits for every zone or the grace', () => {
    let nowMs = 1_000_000;
    const { view } = makeView({ now: () => nowMs, readyGraceMs: 5000 });
    assert.equal(view.ready, false);
    view.zoneUnreachable('az1', nowMs);
    assert.equal(view.zone('az1')!.state, 'connecting');
    view.zoneSnapshot('az1', 'http://a:1', snapshot(1, []));
    assert.equal(view.ready, false);
    nowMs += 5000;
    assert.equal(view.ready, true, 'grace passed');
    const { view: v2 } = makeView();
    v2.zoneSnapshot('az1', 'http://a:1', snapshot(1, []));
    v2.zoneSnapshot('az2', 'http://b:1', snapshot(1, []));
    assert.equal(v2.ready, true);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
