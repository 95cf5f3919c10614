import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  heartbeatAnswer,
  instanceAnswer,
  registerAnswer,
  serviceAnswer,
  serviceWriteAnswer,
} from '../../../src/api/native/native-schemas.js';
import { type ReplicaProcess, startZoneCluster, type ZoneCluster } from '../../helpers/zone-cluster.js';
import { call, instanceQuery, persistent, until } from './native-harness.js';

const ORDERS = '/v1/services/public/DEFAULT_GROUP/orders';

describe('native API on a zone of three cairn server processes', () => {
  let zone: ZoneCluster;
  let leader: ReplicaProcess;
  let followers: ReplicaProcess[];
  before(async () => {
    zone = await startZoneCluster();
    const id = await zone.leader();
    leader = zone.replica(id);
    followers = zone.replicas.filter((r) => r.id !== id);
    assert.equal(followers.length, 2);
  });
  after(() => zone.stop());

  it('accepts a registration sent to a follower and serves it from every replica', async () => {
    const [f1] = followers;
    assert.ok(f1);
    const res = await call(f1.url, 'POST', '/v1/instances', persistent('orders', 8080, { metadata: { v: '1' } }));
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const reg = registerAnswer.parse(res.body);
    assert.equal(reg.instance.zone, 'az1');

    // A consistent read sees it at once on every replica.
    for (const r of zone.replicas) {
      const read = await call(r.url, 'GET', `${ORDERS}?consistent=true`);
      assert.equal(read.status, 200, `${r.id}: ${JSON.stringify(read.body)}`);
      const a = serviceAnswer.parse(read.body);
      assert.ok(a.revision >= reg.revision, `${r.id} answers at or after the write`);
      assert.deepEqual(
        a.instances.map((i) => `${i.ip}:${i.port}`),
        ['10.0.0.1:8080'],
        r.id,
      );
    }
    // A local read sees it once the replica has applied it.
    for (const r of zone.replicas) {
      await until(
        async () => (await call(r.url, 'GET', `/v1/instances${instanceQuery('orders', 8080)}`)).status === 200,
        5000,
        `${r.id} serves the instance from its own state`,
      );
    }
  });

  it('accepts updates, service edits and heartbeats on any replica', async () => {
    const [f1, f2] = followers;
    assert.ok(f1 && f2);
    const upd = await call(f2.url, 'PATCH', '/v1/instances', {
      service: 'orders',
      ip: '10.0.0.1',
      port: 8080,
      weight: 3,
    });
    assert.equal(upd.status, 200, JSON.stringify(upd.body));
    const read = await call(f1.url, 'GET', `/v1/instances${instanceQuery('orders', 8080, { consistent: 'true' })}`);
    assert.equal(instanceAnswer.parse(read.body).instance.weight, 3);

    const put = await call(f1.url, 'PUT', ORDERS, { protectThreshold: 0.4, metadata: { owner: 'x' } });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const patch = await call(f2.url, 'PATCH', ORDERS, { metadata: { owner: 'y' } });
    assert.equal(patch.status, 200, JSON.stringify(patch.body));
    const svc = serviceWriteAnswer.parse(patch.body).service;
    assert.equal(svc.protectThreshold, 0.4);
    assert.deepEqual(svc.metadata, { owner: 'y' });

    const ephemeral = { service: 'orders', ip: '10.0.0.9', port: 9 };
    assert.equal((await call(f1.url, 'POST', '/v1/instances', ephemeral)).status, 200);
    // The follower answers from its applied state; wait until the write reached it.
    await until(
      async () => (await call(f2.url, 'GET', `/v1/instances?service=orders&ip=10.0.0.9&port=9`)).status === 200,
      5000,
      'the ephemeral instance reached the other follower',
    );
    const beat = await call(f2.url, 'PUT', '/v1/instances/heartbeat', ephemeral);
    assert.equal(beat.status, 200, JSON.stringify(beat.body));
    assert.equal(heartbeatAnswer.parse(beat.body).lease, 'instance');
    const del = await call(leader.url, 'DELETE', `/v1/instances?service=orders&ip=10.0.0.9&port=9`);
    assert.equal(del.status, 200);
  });

  it('wakes a long-poll held on a follower when a write lands through the leader', async () => {
    const [f1] = followers;
    assert.ok(f1);
    const current = serviceAnswer.parse((await call(f1.url, 'GET', `${ORDERS}?consistent=true`)).body);
    const started = Date.now();
    const poll = call(f1.url, 'GET', `${ORDERS}?waitIndex=${current.revision}&wait=30s`);
    // Give the poll a moment to be held; if the write wins the race the poll still answers at once.
    await new Promise((r) => setTimeout(r, 200));
    const write = await call(leader.url, 'POST', '/v1/instances', persistent('orders', 8081));
    assert.equal(write.status, 200);
    const res = await poll;
    assert.equal(res.status, 200);
    const a = serviceAnswer.parse(res.body);
    assert.ok(Date.now() - started < 30_000, 'answered before the wait elapsed');
    assert.ok(a.revision > current.revision);
    assert.ok(a.instances.some((i) => i.port === 8081));
  });
});
