import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Instance } from '../../src/instance.js';
import { resolveOutlierOptions } from '../../src/picking/outlier-detector.js';
import { type LabelFallback, ZonePicker } from '../../src/picking/zone-picker.js';
import { resolveZonePolicy, type ZonePolicyOptions } from '../../src/picking/zone-policy.js';
import { fleet, instance, seededRandom } from '../helpers/fixtures.js';
import { ManualClock } from '../helpers/manual-clock.js';

function picker(
  opts: { seed?: number; policy?: ZonePolicyOptions; labelFallback?: LabelFallback; clock?: ManualClock } = {},
) {
  const clock = opts.clock ?? new ManualClock();
  return {
    clock,
    picker: new ZonePicker({
      policy: resolveZonePolicy('az1', opts.policy),
      outliers: resolveOutlierOptions(undefined),
      labelFallback: opts.labelFallback ?? 'all',
      random: seededRandom(opts.seed ?? 1),
      clock,
    }),
  };
}

function countByZone(p: ZonePicker, n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const inst = p.pick()!;
    out.set(inst.zone, (out.get(inst.zone) ?? 0) + 1);
  }
  return out;
}

function failTimes(p: ZonePicker, inst: Instance, n: number): void {
  for (let i = 0; i < n; i++) p.report(inst.id, false);
}

describe('ZonePicker', () => {
  it('keeps every pick local while the zone is healthy, and counts them', () => {
    const { picker: p } = picker();
    p.update(fleet({ az1: [5, 5], az2: [5, 5] }));
    assert.deepEqual([...countByZone(p, 1000)], [['az1', 1000]]);
    assert.equal(p.counters.local, 1000);
    assert.equal(p.counters.crossZone, 0);
  });

  it('spills in the planned proportion (28% local with 1 of 5 healthy)', () => {
    const { picker: p } = picker({ seed: 7 });
    p.update(fleet({ az1: [1, 5], az2: [5, 5] }));
    const n = 20_000;
    const local = countByZone(p, n).get('az1') ?? 0;
    assert.ok(Math.abs(local / n - 0.28) < 0.02, `local share ${local / n}`);
    assert.equal(p.counters.crossZone, n - local);
    const e = p.explain();
    assert.equal(e.mode, 'spill');
    assert.match(e.reason, /1 of 5 instances in az1 are healthy/);
  });

  it('follows weights within a zone when idle', () => {
    const { picker: p } = picker({ seed: 3 });
    const heavy = instance({ zone: 'az1', weight: 300 });
    const light = instance({ zone: 'az1', weight: 100 });
    p.update([heavy, light]);
    let heavyPicks = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) if (p.pick()!.id === heavy.id) heavyPicks++;
    assert.ok(Math.abs(heavyPicks / n - 0.75) < 0.02, `heavy share ${heavyPicks / n}`);
  });

  it('prefers the instance with fewer calls in flight per unit of weight', () => {
    const { picker: p } = picker({ seed: 5 });
    const busy = instance({ zone: 'az1' });
    const idle = instance({ zone: 'az1' });
    p.update([busy, idle]);
    const s = p.state(busy.id)!;
    for (let i = 0; i < 10; i++) p.begin(s);
    let busyPicks = 0;
    for (let i = 0; i < 1000; i++) if (p.pick()!.id === busy.id) busyPicks++;
    // The busy one wins only when both samples land on it (p = 1/4).
    assert.ok(busyPicks < 320 && busyPicks > 180, `busy picked ${busyPicks} times`);
  });

  it('routes labels to matching instances, falls back to the whole service when none is healthy', () => {
    const { picker: p } = picker();
    const gray = instance({ zone: 'az1', metadata: { version: 'gray' } });
    const stable = fleet({ az1: [3, 3] });
    p.update([gray, ...stable]);
    for (let i = 0; i < 50; i++) assert.equal(p.pick({ version: 'gray' })!.id, gray.id);
    p.update([{ ...gray, healthy: false }, ...stable]);
    const fallback = p.pick({ version: 'gray' })!;
    assert.notEqual(fallback.id, gray.id);
    assert.equal(p.explain({ version: 'gray' }).labelFallback, true);
    assert.equal(p.counters.labelFallback, 1);
  });

  it("labelFallback 'none' picks nothing when no instance carries the labels", () => {
    const { picker: p } = picker({ labelFallback: 'none' });
    p.update(fleet({ az1: [3, 3] }));
    assert.equal(p.pick({ version: 'gray' }), undefined);
    assert.equal(p.counters.none, 1);
  });

  it('a canary that exists only in another zone is reached there', () => {
    const { picker: p } = picker();
    const gray = instance({ zone: 'az2', metadata: { version: 'gray' } });
    p.update([gray, ...fleet({ az1: [3, 3] })]);
    assert.equal(p.pick({ version: 'gray' })!.id, gray.id);
    assert.equal(p.explain({ version: 'gray' }).mode, 'remote');
  });

  it('a retry picks another instance than the one that failed', () => {
    const { picker: p } = picker();
    const all = fleet({ az1: [3, 3] });
    p.update(all);
    for (let i = 0; i < 100; i++) {
      const first = p.pickState()!;
      const second = p.pickState(undefined, first.instance.id)!;
      assert.notEqual(second.instance.id, first.instance.id);
    }
    p.update([all[0]!]);
    assert.equal(p.pickState(undefined, all[0]!.id), undefined, 'nothing else to try');
  });

  it('ignores disabled and zero-weight instances entirely', () => {
    const { picker: p } = picker();
    const on = fleet({ az1: [2, 2] });
    p.update([...on, instance({ zone: 'az1', enabled: false }), instance({ zone: 'az1', weight: 0 })]);
    for (let i = 0; i < 200; i++) {
      const got = p.pick()!;
      assert.ok(on.some((x) => x.id === got.id));
    }
    assert.equal(p.explain().zones[0]!.total, 2);
  });
});

describe('ZonePicker: instances that leave the view', () => {
  it('count as unhealthy for a while, so a zone that loses instances spills gradually', () => {
    const { picker: p, clock } = picker();
    const local = fleet({ az1: [5, 5] });
    const remote = fleet({ az2: [5, 5] });
    const shares: number[] = [];
    for (let alive = 5; alive >= 1; alive--) {
      p.update([...local.slice(0, alive), ...remote]);
      shares.push(Math.round(p.explain().localShare * 100));
      clock.advance(1000);
    }
    assert.deepEqual(shares, [100, 100, 84, 56, 28]);
    assert.match(p.explain().reason, /1 of 5 instances in az1 are healthy, 4 recently gone/);
    clock.advance(30_000);
    assert.equal(p.explain().zones.find((z) => z.local)!.departed, 0, 'forgotten after the memory');
  });

  it('are forgotten when newcomers of their zone replace them (a rolling deploy) or when they return', () => {
    const { picker: p } = picker();
    const local = fleet({ az1: [5, 5] });
    p.update([...local, ...fleet({ az2: [5, 5] })]);
    const [a, b, ...rest] = local;
    p.update(rest);
    assert.equal(p.explain().zones[0]!.departed, 2);
    p.update([...rest, a!, instance({ zone: 'az1' })]);
    assert.equal(p.explain().zones[0]!.departed, 0, 'a came back, a newcomer replaced b');
    assert.equal(p.explain().mode, 'local');
    assert.ok(b);
  });
});

describe('ZonePicker: outlier ejection', () => {
  it('ejects after 5 consecutive failures for 30 s, then 60 s the second time', () => {
    const { picker: p, clock } = picker();
    const all = fleet({ az1: [10, 10] });
    p.update(all);
    const bad = all[0]!;
    failTimes(p, bad, 4);
    p.report(bad.id, true);
    failTimes(p, bad, 4);
    assert.equal(p.state(bad.id)!.ejected, false, 'a success resets the streak');
    p.report(bad.id, false);
    assert.equal(p.state(bad.id)!.ejected, true);
    for (let i = 0; i < 500; i++) assert.notEqual(p.pick()!.id, bad.id);
    clock.advance(29_999);
    assert.equal(p.state(bad.id)!.ejected, true);
    clock.advance(1);
    assert.equal(p.state(bad.id)!.ejected, false);
    failTimes(p, bad, 5);
    assert.equal(p.state(bad.id)!.ejectedUntilMs - clock.now(), 60_000);
  });

  it('forgives one past ejection per 30 s back in traffic', () => {
    const { picker: p, clock } = picker();
    const all = fleet({ az1: [10, 10] });
    p.update(all);
    const bad = all[0]!;
    failTimes(p, bad, 5);
    clock.advance(30_000);
    clock.advance(65_000);
    failTimes(p, bad, 5);
    assert.equal(p.state(bad.id)!.ejectedUntilMs - clock.now(), 30_000, 'the first ejection was forgiven');
  });

  it('never ejects more than 10% of a service (at least one)', () => {
    const { picker: p } = picker();
    const all = fleet({ az1: [25, 25] });
    p.update(all);
    for (const inst of all) failTimes(p, inst, 5);
    assert.equal(p.explain().ejected, 2);
    const small = picker().picker;
    const three = fleet({ az1: [3, 3] });
    small.update(three);
    for (const inst of three) failTimes(small, inst, 5);
    assert.equal(small.explain().ejected, 1);
  });

  it('an instance that leaves the view takes its ejection with it', () => {
    const { picker: p, clock } = picker();
    const all = fleet({ az1: [10, 10] });
    p.update(all);
    failTimes(p, all[0]!, 5);
    p.update(all.slice(1));
    assert.equal(p.explain().ejected, 0);
    assert.equal(clock.pending, 1, 'only the memory of the departed instance, no ejection timer');
  });
});

const instanceArb = fc.record({
  zone: fc.constantFrom('az1', 'az2', 'az3'),
  healthy: fc.boolean(),
  enabled: fc.boolean(),
  weight: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1000 })),
  version: fc.constantFrom('v1', 'gray'),
});

describe('ZonePicker: properties', () => {
  it('never picks an unhealthy, ejected, disabled or zero-weight instance unless in panic', () => {
    fc.assert(
      fc.property(
        fc.array(instanceArb, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer(),
        fc.option(fc.constantFrom('v1', 'gray'), { nil: undefined }),
        (specs, failing, seed, version) => {
          const { picker: p } = picker({ seed });
          const all = specs.map((s) => instance({ ...s, metadata: { version: s.version } }));
          p.update(all);
          for (const i of failing) failTimes(p, all[i % all.length]!, 5);
          const labels = version === undefined ? undefined : { version };
          const panic = p.explain(labels).mode === 'panic';
          for (let i = 0; i < 50; i++) {
            const got = p.pickState(labels);
            if (got === undefined) {
              assert.ok(
                !all.some((x) => x.enabled && x.weight > 0),
                'nothing picked although instances are in traffic',
              );
              continue;
            }
            assert.ok(got.instance.enabled && got.instance.weight > 0);
            if (!panic) assert.ok(got.usable, `picked ${got.instance.id} outside panic though it is not usable`);
          }
        },
      ),
    );
  });

  it('observed local share follows the plan', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer(),
        (localHealthy, extraLocal, remote, seed) => {
          const { picker: p } = picker({ seed });
          p.update(fleet({ az1: [localHealthy, localHealthy + extraLocal], az2: [remote, remote] }));
          const planned = p.explain().localShare;
          const n = 4000;
          const local = countByZone(p, n).get('az1') ?? 0;
          // Four standard deviations of a binomial with n = 4000 is at most 0.032.
          assert.ok(Math.abs(local / n - planned) < 0.035, `observed ${local / n}, planned ${planned}`);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('ejected instances never exceed the bound', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.array(fc.nat(), { maxLength: 200 }), (n, failures) => {
        const { picker: p } = picker();
        const all = fleet({ az1: [n, n] });
        p.update(all);
        for (const f of failures) p.report(all[f % n]!.id, false);
        assert.ok(p.explain().ejected <= Math.max(1, Math.floor(n / 10)));
      }),
    );
  });
});
