import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Instance } from '../../src/instance.js';
import { resolveOutlierOptions } from '../../src/picking/outlier-detector.js';
import { ZonePicker } from '../../src/picking/zone-picker.js';
import { resolveZonePolicy } from '../../src/picking/zone-policy.js';
import { DiskCache, type SourceName } from '../../src/view/disk-cache.js';
import { type Confirmer, type ServiceEvent, ServiceView } from '../../src/view/service-view.js';
import { fleet, instance, seededRandom } from '../helpers/fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';

const ref = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };

function setup(
  opts: { cacheDir?: string; confirm?: Confirmer; pushEmptyProtection?: boolean; clock?: ManualClock } = {},
) {
  const clock = opts.clock ?? new ManualClock();
  const picker = new ZonePicker({
    policy: resolveZonePolicy('az1'),
    outliers: resolveOutlierOptions(undefined),
    labelFallback: 'all',
    random: seededRandom(1),
    clock,
  });
  const events: ServiceEvent[] = [];
  const resyncs: SourceName[] = [];
  const cache = opts.cacheDir ? new DiskCache(opts.cacheDir) : null;
  const view = new ServiceView({
    ref,
    localZone: 'az1',
    picker,
    clock,
    cache,
    pushEmptyProtection: opts.pushEmptyProtection ?? true,
    confirm: opts.confirm ?? (async () => null),
    resync: (s) => resyncs.push(s),
  });
  view.on((e) => events.push(e));
  return { clock, picker, view, events, resyncs, cache };
}

const down = (list: Instance[]) => list.map((i) => ({ action: 'put' as const, instance: { ...i, healthy: false } }));
const tick = () => new Promise((r) => setImmediate(r));

describe('ServiceView: push-empty protection', () => {
  it('holds back a push that would leave no healthy instance, and keeps picking from the last view', async () => {
    const { view, picker, events } = setup();
    const all = fleet({ az1: [3, 3] });
    view.snapshot('local', all, 10);
    view.changes('local', down(all), 11);
    assert.equal(view.held?.revision, 11);
    assert.ok(events.some((e) => e.type === 'held'));
    assert.ok(picker.pick()!.healthy, 'still picking the healthy view');
    view.snapshot('local', [], 12);
    assert.ok(picker.pick(), 'a wiped snapshot is held back too');
  });

  it('applies the held update once a fresh read confirms it', async () => {
    let answer: Instance[] | null = null;
    const { view, picker, events } = setup({
      confirm: async () => (answer ? { instances: answer, revision: 13 } : null),
    });
    const all = fleet({ az1: [2, 2] });
    view.snapshot('local', all, 10);
    answer = [];
    view.changes(
      'local',
      all.map((instance) => ({ action: 'delete' as const, instance })),
      11,
    );
    await tick();
    assert.equal(view.held, null);
    assert.deepEqual(
      events.filter((e) => e.type === 'released'),
      [{ type: 'released', source: 'local', applied: true }],
    );
    assert.equal(picker.pick(), undefined);
    assert.equal(view.revision, 13);
  });

  it('drops the hold when healthy instances come back, and resyncs a stream that a read contradicts', async () => {
    const clock = new ManualClock();
    const all = fleet({ az1: [2, 2] });
    const { view, events, resyncs } = setup({ clock, confirm: async () => ({ instances: all, revision: 12 }) });
    view.snapshot('local', all, 10);
    view.snapshot('local', [], 11);
    await tick();
    assert.deepEqual(resyncs, ['local'], 'the read disagrees with the stream');
    assert.ok(view.held);
    view.snapshot('local', all, 13);
    assert.equal(view.held, null);
    assert.ok(events.some((e) => e.type === 'released' && e.applied));
    assert.equal(clock.pending, 0, 'no confirmation retry left behind');
  });

  it('retries a confirmation that cannot be made, with backoff', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const { view } = setup({
      clock,
      confirm: async () => {
        calls++;
        return null;
      },
    });
    view.snapshot('local', fleet({ az1: [2, 2] }), 10);
    view.snapshot('local', [], 11);
    await tick();
    clock.advance(500);
    await tick();
    clock.advance(1000);
    await tick();
    assert.equal(calls, 3);
    assert.ok(view.held);
  });

  it('can be turned off', () => {
    const { view, picker } = setup({ pushEmptyProtection: false });
    view.snapshot('local', fleet({ az1: [2, 2] }), 10);
    view.snapshot('local', [], 11);
    assert.equal(picker.pick(), undefined);
  });

  it('property: the applied view never loses its last healthy instance without a confirming read', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ idx: fc.nat(5), healthy: fc.boolean(), del: fc.boolean() }), { maxLength: 40 }),
        (ops) => {
          const { view, picker } = setup();
          const base = fleet({ az1: [6, 6] });
          view.snapshot('local', base, 1);
          let rev = 2;
          for (const op of ops) {
            const inst = { ...base[op.idx]!, healthy: op.healthy };
            view.changes('local', [{ action: op.del ? 'delete' : 'put', instance: inst }], rev++);
            assert.ok(
              view.instances().some((i) => i.healthy),
              'the view kept a healthy instance',
            );
            assert.ok(picker.pick(), 'something to call');
          }
        },
      ),
    );
  });
});

describe('ServiceView: sources, staleness and the disk cache', () => {
  it('takes the local zone from the zone registry and other zones from the federation', () => {
    const { view } = setup();
    const local = fleet({ az1: [2, 2] });
    const fedLocalCopy = fleet({ az1: [1, 1] });
    const remote = fleet({ az2: [3, 3] });
    view.snapshot('federation', [...fedLocalCopy, ...remote], 5);
    assert.equal(view.instances().length, 4, 'before the zone registry answers, the federation fills in');
    view.snapshot('local', local, 9);
    const zones = view.instances().map((i) => i.zone);
    assert.deepEqual(zones.sort(), ['az1', 'az1', 'az2', 'az2', 'az2']);
  });

  it('marks the view stale when its source is lost, and fresh when it comes back', () => {
    const { view, clock, events } = setup();
    view.snapshot('local', fleet({ az1: [2, 2] }), 10);
    clock.advance(1000);
    view.lost('local');
    assert.equal(view.staleness?.sinceMs, clock.now());
    view.resumed('local', 12);
    assert.equal(view.staleness, null);
    assert.deepEqual(
      events.filter((e) => e.type !== 'change').map((e) => e.type),
      ['stale', 'fresh'],
    );
  });

  it('writes every view atomically and serves it after a restart, stale since it was last fresh', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sdk-cache-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = setup({ cacheDir: dir });
    const all = fleet({ az1: [2, 2], az2: [1, 1] });
    first.view.snapshot('local', all, 42);
    first.clock.advance(5000);
    first.view.lost('local');
    const lostAt = first.clock.now();
    await first.cache!.flush();
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
      'no temp file left behind',
    );

    const second = setup({ cacheDir: dir });
    const cached = await second.cache!.load(ref);
    assert.ok(cached);
    assert.ok(second.view.loadCache(cached));
    assert.equal(second.view.revision, 42);
    assert.equal(second.view.instances().length, 3);
    assert.equal(second.view.staleness?.sinceMs, lostAt);
    assert.equal(second.view.staleness?.fromCache, true);
    assert.ok(second.picker.pick());
  });

  it('coalesces writes: the newest view wins', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sdk-cache-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const { view, cache } = setup({ cacheDir: dir });
    for (let rev = 1; rev <= 50; rev++) view.snapshot('local', [instance({ zone: 'az1', port: 20_000 + rev })], rev);
    await cache!.flush();
    const loaded = await new DiskCache(dir).load(ref);
    assert.equal(loaded?.sources.local?.revision, 50);
    assert.equal(loaded?.sources.local?.instances[0]?.port, 20_050);
  });

  it('ignores a torn or foreign cache file', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-sdk-cache-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const errors: string[] = [];
    const cache = new DiskCache(dir, (_e, what) => errors.push(what));
    writeFileSync(cache.fileOf(ref), '{"format":1,"sources":{"local":{"revision":');
    assert.equal(await cache.load(ref), null);
    writeFileSync(
      cache.fileOf(ref),
      JSON.stringify({ format: 1, namespace: 'x', group: 'y', service: 'z', savedAtMs: 1, freshAtMs: 1, sources: {} }),
    );
    assert.equal(await cache.load(ref), null);
    assert.equal(errors.length, 2);
    assert.equal(await cache.load({ ...ref, service: 'missing' }), null, 'a missing file is not an error');
    assert.equal(errors.length, 2);
  });
});
