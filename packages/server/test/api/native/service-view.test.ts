import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { protectThresholdReached, selectInstances } from '../../../src/api/native/service-view.js';
import { DEFAULT_HEARTBEAT, type Instance, instanceIdOf, type ServiceInfo } from '../../../src/registry/model.js';

const service = (protectThreshold: number): ServiceInfo => ({
  namespace: 'public',
  group: 'DEFAULT_GROUP',
  service: 'orders',
  protectThreshold,
  metadata: {},
  createdAt: 0,
  revision: 1,
});

const instance = (port: number, extra: Partial<Instance> = {}): Instance => {
  const key = {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service: 'orders',
    cluster: 'DEFAULT',
    ip: '10.0.0.1',
    port,
  };
  return {
    ...key,
    id: instanceIdOf(key),
    weight: 100,
    healthy: true,
    enabled: true,
    ephemeral: false,
    zone: 'az1',
    metadata: {},
    heartbeat: DEFAULT_HEARTBEAT,
    lease: null,
    check: null,
    registeredAt: 0,
    updatedAt: 0,
    revision: 1,
    ...extra,
  };
};

describe('selectInstances', () => {
  it('follows Nacos: reached when healthy/total <= threshold, never for an empty service', () => {
    assert.equal(protectThresholdReached(1, 4, 0.25), true);
    assert.equal(protectThresholdReached(1, 4, 0.2), false);
    assert.equal(protectThresholdReached(0, 3, 0), true, 'threshold 0 still protects when nothing is healthy');
    assert.equal(protectThresholdReached(1, 3, 0), false);
    assert.equal(protectThresholdReached(0, 0, 1), false);
  });

  it('returns every matching instance as healthy when reached, and counts the real health', () => {
    const all = [instance(2, { healthy: false }), instance(1), instance(3, { healthy: false })];
    const sel = selectInstances(service(0.5), all, { healthyOnly: true });
    assert.equal(sel.protectThresholdReached, true);
    assert.deepEqual(
      sel.instances.map((i) => [i.port, i.healthy]),
      [
        [1, true],
        [2, true],
        [3, true],
      ],
    );
    assert.deepEqual(sel.counts, { total: 3, healthy: 1 });
    assert.equal(all[0]?.healthy, false, 'the stored instances are not changed');
  });

  it('computes the threshold over the instances the cluster and label filters leave', () => {
    const all = [
      instance(1, { cluster: 'a', healthy: false }),
      instance(2, { cluster: 'a', healthy: false }),
      instance(3, { cluster: 'b' }),
      instance(4, { cluster: 'b', metadata: { v: '2' } }),
    ];
    const inA = selectInstances(service(0.3), all, { healthyOnly: true, clusters: ['a'] });
    assert.equal(inA.protectThresholdReached, true);
    assert.equal(inA.instances.length, 2);
    const labelled = selectInstances(service(0.3), all, { healthyOnly: false, labels: { v: '2' } });
    assert.deepEqual(
      labelled.instances.map((i) => i.port),
      [4],
    );
    const whole = selectInstances(service(0.3), all, { healthyOnly: true });
    assert.equal(whole.protectThresholdReached, false, '2 of 4 healthy is above 0.3');
    assert.deepEqual(
      whole.instances.map((i) => i.port),
      [3, 4],
    );
  });
});
