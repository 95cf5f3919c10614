import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LeaseTable } from '../../src/registry/lease-table.js';
import { DEFAULT_HEARTBEAT, type Instance, leaseIdOf } from '../../src/registry/model.js';

const inst = (port: number, healthy = true): Instance => ({
  namespace: 'public',
  group: 'G',
  service: 's',
  cluster: 'DEFAULT',
  ip: '10.0.0.1',
  port,
  id: `10.0.0.1#${port}#DEFAULT#G@@s`,
  weight: 1,
  healthy,
  enabled: true,
  ephemeral: true,
  zone: 'az1',
  metadata: {},
  heartbeat: DEFAULT_HEARTBEAT, // unhealthy after 3 s, expired after 30 s
  lease: { kind: 'instance' },
  check: null,
  registeredAt: 0,
  updatedAt: 0,
  revision: 1,
});

describe('LeaseTable', () => {
  it('reports healthy -> unhealthy -> expired once each, and back to healthy on renewal', () => {
    const t = new LeaseTable();
    t.trackInstance(inst(1), 0);
    t.trackInstance(inst(2), 0);
    assert.deepEqual(t.scan(2000).unhealthy, []);
    t.renewInstance(leaseIdOf(inst(2)), 2500);
    const s1 = t.scan(3100);
    assert.deepEqual(
      s1.unhealthy.map((i) => i.port),
      [1],
    );
    assert.deepEqual(t.scan(3200).unhealthy, [], 'reported once');
    t.renewInstance(leaseIdOf(inst(1)), 4000);
    assert.deepEqual(
      t.scan(4100).healthyAgain.map((i) => i.port),
      [1],
    );
    const late = t.scan(40_000);
    assert.deepEqual(late.expired.map((i) => i.port).sort(), [1, 2]);
    assert.equal(t.instanceLeaseCount, 0);
    assert.equal(t.renewInstance(leaseIdOf(inst(1)), 40_001), false, 'an expired lease cannot be renewed');
  });

  it('a new leader grants every lease a full period', () => {
    const t = new LeaseTable();
    t.trackInstance(inst(1), 0);
    t.trackSession('S', 3000, 0);
    t.grantAll(29_000);
    const s = t.scan(31_000);
    assert.deepEqual(s.expired, []);
    assert.deepEqual(s.unhealthy, []);
    assert.deepEqual(s.expiredSessions, []);
    assert.deepEqual(t.scan(32_001).expiredSessions, ['S']);
  });

  it('the same instance id in two namespaces holds two leases', () => {
    const t = new LeaseTable();
    const dev = { ...inst(1), namespace: 'dev' };
    t.trackInstance(inst(1), 0);
    t.trackInstance(dev, 0);
    assert.equal(t.instanceLeaseCount, 2);
    t.renewInstance(leaseIdOf(dev), 2900);
    assert.deepEqual(
      t.scan(3100).unhealthy.map((i) => i.namespace),
      ['public'],
    );
  });

  it('renewals never move a lease backwards', () => {
    const t = new LeaseTable();
    t.trackSession('S', 1000, 0);
    t.renewSession('S', 900);
    t.renewSession('S', 100);
    assert.deepEqual(t.scan(1800).expiredSessions, []);
    assert.deepEqual(t.scan(1901).expiredSessions, ['S']);
  });
});
