import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { availability, planZones, type ZoneHealth } from '../../src/picking/zone-plan.js';
import { resolveZonePolicy } from '../../src/picking/zone-policy.js';

const policy = resolveZonePolicy('az1');

function z(zone: string, healthy: number, total: number, weight = 100): ZoneHealth {
  return { zone, total, healthy, departed: 0, totalWeight: total * weight, healthyWeight: healthy * weight };
}

function shareOf(plan: ReturnType<typeof planZones>, zone: string): number {
  return plan.shares.find((s) => s.zone === zone)?.share ?? 0;
}

const close = (a: number, b: number) => Math.abs(a - b) < 1e-9;

describe('planZones: the worked examples', () => {
  it('keeps every call local while the zone is healthy', () => {
    const plan = planZones([z('az1', 5, 5), z('az2', 5, 5)], policy);
    assert.equal(plan.mode, 'local');
    assert.deepEqual(plan.shares, [{ zone: 'az1', share: 1, local: true }]);
  });

  it('stays local at exactly 70% healthy, spills just below', () => {
    assert.equal(planZones([z('az1', 7, 10), z('az2', 5, 5)], policy).mode, 'local');
    const plan = planZones([z('az1', 6, 10), z('az2', 5, 5)], policy);
    assert.equal(plan.mode, 'spill');
    assert.ok(close(plan.localShare, 0.84), `1.4 × 60% = 84%, got ${plan.localShare}`);
  });

  it('5 + 5 with az1 down to 1 healthy: az1 keeps 1.4 × 20% = 28% (priority failover, as in the reference)', () => {
    const plan = planZones([z('az1', 1, 5), z('az2', 5, 5)], policy);
    assert.equal(plan.mode, 'spill');
    assert.ok(close(shareOf(plan, 'az1'), 0.28));
    assert.ok(close(shareOf(plan, 'az2'), 0.72));
  });

  it('the local share falls gradually as local instances die, and panic takes over below 50% overall', () => {
    const shares = [5, 4, 3, 2, 1, 0].map((h) => planZones([z('az1', h, 5), z('az2', 5, 5)], policy));
    assert.deepEqual(
      shares.map((p) => p.mode),
      ['local', 'local', 'spill', 'spill', 'spill', 'remote'],
    );
    assert.deepEqual(
      shares.map((p) => Math.round(p.localShare * 100)),
      [100, 100, 84, 56, 28, 0],
    );
  });

  it('one healthy instance out of one is not a healthy zone (minHealthy 2)', () => {
    const plan = planZones([z('az1', 1, 1), z('az2', 5, 5)], policy);
    assert.equal(plan.mode, 'spill');
    assert.ok(close(plan.localShare, 0.7), '1.4 × min(100%, 1/2)');
  });

  it('with nowhere to spill, calls stay local (and say why)', () => {
    const plan = planZones([z('az1', 3, 5)], policy);
    assert.equal(plan.mode, 'local');
    assert.match(plan.reason, /no other zone/);
  });

  it('panics below 50% healthy overall unless the local zone is zone-first', () => {
    const panic = planZones([z('az1', 1, 5), z('az2', 1, 5)], policy);
    assert.equal(panic.mode, 'panic');
    assert.equal(panic.includeUnhealthy, true);
    assert.ok(close(shareOf(panic, 'az1'), 0.5));
    const healthyLocal = planZones([z('az1', 5, 5), z('az2', 0, 20)], policy);
    assert.equal(healthyLocal.mode, 'local', 'a healthy local zone never panics because others are down');
  });

  it('no healthy instance anywhere is panic; no instance at all is empty', () => {
    assert.equal(
      planZones([z('az1', 0, 3), z('az2', 0, 3)], resolveZonePolicy('az1', { panicRatio: 0 })).mode,
      'panic',
    );
    assert.equal(planZones([], policy).mode, 'empty');
  });

  it('zonePriority fills the listed zones in order before the others', () => {
    const p = resolveZonePolicy('az1', { zonePriority: ['az3', 'az2'] });
    const plan = planZones([z('az1', 1, 5), z('az2', 5, 5), z('az3', 2, 5), z('az4', 5, 5)], p);
    assert.ok(close(shareOf(plan, 'az1'), 0.28));
    assert.ok(close(shareOf(plan, 'az3'), 0.56), 'az3 first: 1.4 × 40%');
    assert.ok(close(shareOf(plan, 'az2'), 0.16), 'az2 takes the rest');
    assert.equal(shareOf(plan, 'az4'), 0, 'az4 is not needed');
  });

  it('zones that cannot absorb the rest are scaled up (normalized)', () => {
    const p = resolveZonePolicy('az1', { zonePriority: ['az2'], panicRatio: 0 });
    const plan = planZones([z('az1', 1, 5), z('az2', 2, 5), z('az3', 0, 1)], p);
    // az1 28%, az2 56%, nothing else healthy: scaled by 1 / 0.84.
    assert.ok(close(shareOf(plan, 'az1'), 0.28 / 0.84));
    assert.ok(close(shareOf(plan, 'az2'), 0.56 / 0.84));
  });

  it('refuses a factor that would keep calls local below spillRatio', () => {
    assert.throws(() => resolveZonePolicy('az1', { spillRatio: 0.9, overprovisioningFactor: 1.4 }), /INVALID|must be/);
    assert.ok(close(resolveZonePolicy('az1', { spillRatio: 0.9 }).overprovisioningFactor, 1 / 0.9));
  });
});

const zoneArb = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 })).map(([a, b]) => {
  const total = Math.max(a, b);
  return { total, healthy: Math.min(a, b) };
});
const viewArb = fc.record({
  local: zoneArb,
  others: fc.array(zoneArb, { maxLength: 3 }),
  priority: fc.boolean(),
});

type Counts = { total: number; healthy: number };

function health(v: { local: Counts; others: Counts[] }): ZoneHealth[] {
  return [z('az1', v.local.healthy, v.local.total), ...v.others.map((o, i) => z(`az${i + 2}`, o.healthy, o.total))];
}

describe('planZones: properties', () => {
  it('shares are positive and sum to 1; only zones with candidates get a share', () => {
    fc.assert(
      fc.property(viewArb, (v) => {
        const zones = health(v);
        const p = resolveZonePolicy('az1', { zonePriority: v.priority ? ['az3', 'az2'] : [] });
        const plan = planZones(zones, p);
        if (plan.mode === 'empty') {
          assert.equal(plan.shares.length, 0);
          return;
        }
        assert.ok(
          close(
            plan.shares.reduce((a, s) => a + s.share, 0),
            1,
          ),
        );
        for (const s of plan.shares) {
          assert.ok(s.share > 0);
          const zh = zones.find((x) => x.zone === s.zone)!;
          assert.ok(plan.includeUnhealthy ? zh.total > 0 : zh.healthy > 0, `${s.zone} has a share but no candidate`);
        }
      }),
    );
  });

  it('the local share follows the rule: 1 when zone-first, else min(1, 1.4 × availability) unless normalized or panicking', () => {
    fc.assert(
      fc.property(viewArb, (v) => {
        const zones = health(v);
        const plan = planZones(zones, policy);
        const local = zones[0]!;
        const total = zones.reduce((a, x) => a + x.total, 0);
        const healthy = zones.reduce((a, x) => a + x.healthy, 0);
        const zoneFirst = local.healthy >= 2 && local.healthy >= 0.7 * local.total;
        if (total === 0) return assert.equal(plan.mode, 'empty');
        if (zoneFirst) return assert.equal(plan.localShare, 1);
        const panic = healthy === 0 || healthy < 0.5 * total;
        assert.equal(plan.mode === 'panic', panic);
        if (panic) return;
        const othersHealthy = zones.slice(1).some((x) => x.healthy > 0);
        const expected = Math.min(1, 1.4 * availability(local, 2));
        if (othersHealthy) assert.ok(close(plan.localShare, expected), `${plan.localShare} vs ${expected}`);
        else assert.equal(plan.localShare, 1, 'nowhere to spill');
        assert.ok(plan.localShare < 1 || !othersHealthy, 'a zone that is not zone-first spills when it can');
      }),
    );
  });

  it('losing a local instance never raises the local share (outside panic)', () => {
    fc.assert(
      fc.property(viewArb, (v) => {
        fc.pre(v.local.healthy > 0);
        const before = planZones(health(v), policy);
        const after = planZones(health({ ...v, local: { ...v.local, healthy: v.local.healthy - 1 } }), policy);
        fc.pre(before.mode !== 'panic' && after.mode !== 'panic');
        assert.ok(after.localShare <= before.localShare + 1e-12);
      }),
    );
  });
});
