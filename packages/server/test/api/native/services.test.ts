import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  namespaceAnswer,
  namespaceListAnswer,
  serviceAnswer,
  serviceListAnswer,
  serviceWriteAnswer,
} from '../../../src/api/native/native-schemas.js';
import {
  type FieldErrorBody,
  instanceQuery,
  type NativeServer,
  persistent,
  startNativeServer,
} from './native-harness.js';

describe('native API: services and namespaces', () => {
  let s: NativeServer;
  before(async () => {
    s = await startNativeServer();
  });
  after(() => s.stop());

  const getService = async (path: string) => {
    const res = await s.call('GET', `/v1/services/public/DEFAULT_GROUP/${path}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return serviceAnswer.parse(res.body);
  };

  it('creates, lists, reads and deletes namespaces; registration needs an existing namespace', async () => {
    const initial = namespaceListAnswer.parse((await s.call('GET', '/v1/namespaces')).body);
    assert.deepEqual(
      initial.namespaces.map((n) => n.id),
      ['public'],
    );
    const put = await s.call('PUT', '/v1/namespaces/dev', { name: 'Development', description: 'for testing' });
    assert.equal(put.status, 200);
    assert.deepEqual(namespaceAnswer.parse(put.body).namespace, {
      id: 'dev',
      name: 'Development',
      description: 'for testing',
    });
    const nowhere = await s.call<FieldErrorBody>('POST', '/v1/instances', persistent('api', 1, { namespace: 'nope' }));
    assert.equal(nowhere.status, 404);
    assert.match(nowhere.body.message, /create it first/);
    assert.equal((await s.call('POST', '/v1/instances', persistent('api', 1, { namespace: 'dev' }))).status, 200);

    const listed = namespaceListAnswer.parse((await s.call('GET', '/v1/namespaces?consistent=true')).body);
    assert.deepEqual(
      listed.namespaces.map((n) => [n.id, n.services]),
      [
        ['dev', 1],
        ['public', 0],
      ],
    );
    const one = await s.call('GET', '/v1/namespaces/dev');
    assert.equal(namespaceAnswer.parse(one.body).namespace.name, 'Development');

    const busy = await s.call<FieldErrorBody>('DELETE', '/v1/namespaces/dev');
    assert.equal(busy.status, 409);
    assert.equal(busy.body.code, 'CONFLICT');
    const pub = await s.call<FieldErrorBody>('DELETE', '/v1/namespaces/public');
    assert.equal(pub.status, 409);

    await s.call('DELETE', `/v1/instances${instanceQuery('api', 1, { namespace: 'dev' })}`);
    assert.equal((await s.call('DELETE', '/v1/services/dev/DEFAULT_GROUP/api')).status, 200);
    assert.equal((await s.call('DELETE', '/v1/namespaces/dev')).status, 200);
    assert.equal((await s.call('GET', '/v1/namespaces/dev')).status, 404);
    const badName = await s.call<FieldErrorBody>('PUT', '/v1/namespaces/bad%20name', {});
    assert.equal(badName.status, 400);
    assert.deepEqual(
      badName.body.fields?.map((f) => f.field),
      ['namespace'],
    );
  });

  it('lists services paged and filtered, each with its instance counts', async () => {
    for (const name of ['cart', 'catalog', 'checkout', 'orders', 'users']) {
      await s.call('POST', '/v1/instances', persistent(name, 80, { group: 'shop' }));
    }
    await s.call('POST', '/v1/instances', persistent('cart', 81, { group: 'shop', healthy: false }));
    const page1 = serviceListAnswer.parse((await s.call('GET', '/v1/services?group=shop&pageSize=2')).body);
    assert.equal(page1.total, 5);
    assert.deepEqual(
      page1.services.map((x) => x.service),
      ['cart', 'catalog'],
    );
    assert.deepEqual(page1.services[0]?.instances, { total: 2, healthy: 1 });
    const page3 = serviceListAnswer.parse((await s.call('GET', '/v1/services?group=shop&pageSize=2&pageNo=3')).body);
    assert.deepEqual(
      page3.services.map((x) => x.service),
      ['users'],
    );
    const named = serviceListAnswer.parse((await s.call('GET', '/v1/services?group=shop&name=ca')).body);
    assert.deepEqual(
      named.services.map((x) => x.service),
      ['cart', 'catalog'],
    );
    const otherNs = serviceListAnswer.parse((await s.call('GET', '/v1/services?namespace=other')).body);
    assert.equal(otherNs.total, 0);
    const bad = await s.call<FieldErrorBody>('GET', '/v1/services?pageSize=5000&pageNo=0');
    assert.equal(bad.status, 400);
    assert.deepEqual(new Set(bad.body.fields?.map((f) => f.field)), new Set(['pageSize', 'pageNo']));
  });

  it('creates, updates and deletes a service; delete waits until it has no instances', async () => {
    const put = await s.call('PUT', '/v1/services/public/DEFAULT_GROUP/billing', {
      protectThreshold: 0.5,
      metadata: { owner: 'team-a' },
    });
    assert.equal(put.status, 200);
    const created = serviceWriteAnswer.parse(put.body);
    assert.equal(created.service.protectThreshold, 0.5);

    const patched = serviceWriteAnswer.parse(
      (await s.call('PATCH', '/v1/services/public/DEFAULT_GROUP/billing', { metadata: { owner: 'team-b' } })).body,
    );
    assert.equal(patched.service.protectThreshold, 0.5, 'what is left out is kept');
    assert.deepEqual(patched.service.metadata, { owner: 'team-b' });
    assert.equal(patched.service.createdAt, created.service.createdAt);

    const badThreshold = await s.call<FieldErrorBody>('PUT', '/v1/services/public/DEFAULT_GROUP/billing', {
      protectThreshold: 1.5,
    });
    assert.equal(badThreshold.status, 400);
    assert.deepEqual(
      badThreshold.body.fields?.map((f) => f.field),
      ['protectThreshold'],
    );
    const missing = await s.call<FieldErrorBody>('PATCH', '/v1/services/public/DEFAULT_GROUP/nothing', {
      protectThreshold: 0.1,
    });
    assert.equal(missing.status, 404);

    await s.call('POST', '/v1/instances', persistent('billing', 5000));
    const service = await getService('billing');
    assert.equal(service.instances.length, 1);
    assert.equal(service.service.protectThreshold, 0.5);

    const busy = await s.call<FieldErrorBody>('DELETE', '/v1/services/public/DEFAULT_GROUP/billing');
    assert.equal(busy.status, 409);
    assert.match(busy.body.message, /deregister them first/);
    await s.call('DELETE', `/v1/instances${instanceQuery('billing', 5000)}`);
    assert.equal((await s.call('DELETE', '/v1/services/public/DEFAULT_GROUP/billing')).status, 200);
    const gone = await s.call<FieldErrorBody>('GET', '/v1/services/public/DEFAULT_GROUP/billing');
    assert.equal(gone.status, 404);
    assert.equal(gone.body.code, 'NOT_FOUND');
    assert.ok(Number(gone.headers.get('x-cairn-revision')) > 0, 'refusals carry the revision too');
  });

  it('applies the protect threshold: at or below it every instance is returned healthy', async () => {
    // 1 healthy of 4 = 0.25.
    for (let port = 1; port <= 4; port++) {
      await s.call('POST', '/v1/instances', persistent('fragile', port, { healthy: port === 1 }));
    }
    await s.call('PUT', '/v1/services/public/DEFAULT_GROUP/fragile', { protectThreshold: 0.2 });
    const below = await getService('fragile?healthyOnly=true');
    assert.equal(below.protectThresholdReached, false);
    assert.deepEqual(
      below.instances.map((i) => i.port),
      [1],
    );
    assert.deepEqual(below.counts, { total: 4, healthy: 1 });

    await s.call('PUT', '/v1/services/public/DEFAULT_GROUP/fragile', { protectThreshold: 0.25 });
    const reached = await getService('fragile?healthyOnly=true');
    assert.equal(reached.protectThresholdReached, true);
    assert.deepEqual(
      reached.instances.map((i) => [i.port, i.healthy]),
      [
        [1, true],
        [2, true],
        [3, true],
        [4, true],
      ],
    );
    assert.deepEqual(reached.counts, { total: 4, healthy: 1 }, 'counts show the real health');

    // A disabled instance stays out of healthyOnly answers even then.
    await s.call('PATCH', '/v1/instances', { service: 'fragile', ip: '10.0.0.1', port: 4, enabled: false });
    const disabled = await getService('fragile?healthyOnly=true');
    assert.deepEqual(
      disabled.instances.map((i) => i.port),
      [1, 2, 3],
    );
    const all = await getService('fragile');
    assert.equal(all.instances.length, 4);
  });

  it('filters instances by cluster and by metadata labels', async () => {
    const reg = (port: number, cluster: string, metadata: Record<string, string>) =>
      s.call('POST', '/v1/instances', persistent('catalogue', port, { cluster, metadata }));
    await reg(1, 'east', { version: 'v1', region: 'x' });
    await reg(2, 'east', { version: 'v2', region: 'x' });
    await reg(3, 'west', { version: 'v2', region: 'y' });
    await reg(4, 'west', { version: 'v2', region: 'x', url: 'http://a:1' });
    const ports = async (query: string) => (await getService(`catalogue?${query}`)).instances.map((i) => i.port);
    assert.deepEqual(await ports('labels=version:v2'), [2, 3, 4]);
    assert.deepEqual(await ports('labels=version:v2,region:x'), [2, 4]);
    assert.deepEqual(await ports('clusters=west'), [3, 4]);
    assert.deepEqual(await ports('clusters=east,west&labels=region:y'), [3]);
    assert.deepEqual(await ports('labels=version:v3'), []);
    assert.deepEqual(await ports(`labels=${encodeURIComponent('url:http://a:1')}`), [4], 'values may hold colons');
    const counted = await getService('catalogue?clusters=east');
    assert.deepEqual(counted.counts, { total: 2, healthy: 2 });

    const bad = await s.call<FieldErrorBody>('GET', '/v1/services/public/DEFAULT_GROUP/catalogue?labels=novalue');
    assert.equal(bad.status, 400);
    assert.deepEqual(
      bad.body.fields?.map((f) => f.field),
      ['labels'],
    );
    const badCluster = await s.call<FieldErrorBody>(
      'GET',
      '/v1/services/public/DEFAULT_GROUP/catalogue?clusters=ok,not_ok',
    );
    assert.equal(badCluster.status, 400);
    const consistent = await s.call('GET', '/v1/services/public/DEFAULT_GROUP/catalogue?consistent=true');
    assert.equal(consistent.status, 200);
  });
});
