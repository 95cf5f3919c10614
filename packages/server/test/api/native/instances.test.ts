import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  heartbeatAnswer,
  heartbeatBatchAnswer,
  instanceAnswer,
  registerAnswer,
} from '../../../src/api/native/native-schemas.js';
import {
  type FieldErrorBody,
  instanceQuery,
  type NativeServer,
  persistent,
  startNativeServer,
} from './native-harness.js';

describe('native API: instances', () => {
  let s: NativeServer;
  before(async () => {
    s = await startNativeServer();
  });
  after(() => s.stop());

  it('refuses a bad registration with VALIDATION_FAILED naming every bad field', async () => {
    const res = await s.call<FieldErrorBody>('POST', '/v1/instances', {
      service: 'bad/name',
      ip: 'not an ip!',
      port: 70_000,
      weight: -1,
      zone: 'elsewhere',
      heartbeat: { intervalMs: 5000, unhealthyAfterMs: 1000, expireAfterMs: 30_000 },
    });
    assert.equal(res.status, 400);
    assert.equal(res.body.code, 'VALIDATION_FAILED');
    const fields = new Set(res.body.fields?.map((f) => f.field));
    for (const f of ['service', 'ip', 'port', 'weight', 'zone', 'heartbeat'])
      assert.ok(fields.has(f), `field ${f} named`);
    assert.match(res.body.message, /not valid/);
  });

  it('refuses a missing body, bad JSON and a non-JSON content type with 4xx codes', async () => {
    const empty = await s.call<FieldErrorBody>('POST', '/v1/instances');
    assert.equal(empty.status, 400);
    assert.equal(empty.body.code, 'VALIDATION_FAILED');
    const broken = await s.call<FieldErrorBody>('POST', '/v1/instances', '{"service":');
    assert.equal(broken.status, 400);
    assert.equal(broken.body.code, 'VALIDATION_FAILED');
    const text = await fetch(`${s.url}/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'service=x',
    });
    assert.equal(text.status, 400);
    assert.equal(((await text.json()) as FieldErrorBody).code, 'VALIDATION_FAILED');
  });

  it('bounds names, metadata and body size, each with a clear 4xx', async () => {
    const longName = await s.call<FieldErrorBody>('POST', '/v1/instances', persistent('x'.repeat(256), 1));
    assert.equal(longName.status, 400);
    assert.deepEqual(
      longName.body.fields?.map((f) => f.field),
      ['service'],
    );
    const metadata = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await s.call<FieldErrorBody>('POST', '/v1/instances', persistent('orders', 1, { metadata }));
    assert.equal(tooMany.status, 400);
    assert.equal(tooMany.body.fields?.[0]?.field, 'metadata');
    const longValue = await s.call<FieldErrorBody>(
      'POST',
      '/v1/instances',
      persistent('orders', 1, { metadata: { k: 'v'.repeat(1025) } }),
    );
    assert.equal(longValue.status, 400);
    assert.equal(longValue.body.fields?.[0]?.field, 'metadata.k');
    const huge = await s.call<FieldErrorBody>(
      'POST',
      '/v1/instances',
      persistent('orders', 1, { metadata: { k: 'v'.repeat(300 * 1024) } }),
    );
    assert.equal(huge.status, 413);
    assert.equal(huge.body.code, 'PAYLOAD_TOO_LARGE');
  });

  it('registers idempotently, stamps the server zone, and reads the instance back with its revision', async () => {
    const body = persistent('orders', 8080, { weight: 50, metadata: { version: 'v1' } });
    const first = await s.call('POST', '/v1/instances', body);
    assert.equal(first.status, 200);
    const a = registerAnswer.parse(first.body);
    assert.equal(a.changed, true);
    assert.equal(a.instance.zone, 'az1');
    assert.equal(a.instance.namespace, 'public');
    assert.equal(a.instance.group, 'DEFAULT_GROUP');
    assert.equal(a.instance.cluster, 'DEFAULT');
    assert.equal(a.instance.lease, null);
    assert.equal(first.headers.get('x-cairn-revision'), String(a.revision));

    const second = registerAnswer.parse((await s.call('POST', '/v1/instances', body)).body);
    assert.equal(second.changed, false);
    assert.equal(second.instance.revision, a.instance.revision, 'the same registration changes nothing');

    const got = await s.call('GET', `/v1/instances${instanceQuery('orders', 8080)}`);
    assert.equal(got.status, 200);
    const g = instanceAnswer.parse(got.body);
    assert.deepEqual(g.instance, a.instance);
    assert.ok(g.revision >= a.revision);

    const consistent = await s.call('GET', `/v1/instances${instanceQuery('orders', 8080, { consistent: 'true' })}`);
    assert.equal(consistent.status, 200);

    // Registering again with different settings replaces them (same key).
    const changed = registerAnswer.parse((await s.call('POST', '/v1/instances', { ...body, weight: 70 })).body);
    assert.equal(changed.changed, true);
    assert.equal(changed.instance.weight, 70);
    assert.equal(changed.instance.registeredAt, a.instance.registeredAt);
  });

  it('gives an ephemeral instance its own lease, or its session, and refuses a session for a persistent one', async () => {
    const own = registerAnswer.parse(
      (await s.call('POST', '/v1/instances', { service: 'leased', ip: '10.0.0.2', port: 1 })).body,
    );
    assert.deepEqual(own.instance.lease, { kind: 'instance' });
    assert.deepEqual(own.instance.heartbeat, { intervalMs: 1000, unhealthyAfterMs: 3000, expireAfterMs: 30_000 });
    const noSession = await s.call<FieldErrorBody>('POST', '/v1/instances', {
      service: 'leased',
      ip: '10.0.0.2',
      port: 2,
      sessionId: 'never-opened',
    });
    assert.equal(noSession.status, 404);
    assert.equal(noSession.body.code, 'NOT_FOUND');
    const persistentSession = await s.call<FieldErrorBody>(
      'POST',
      '/v1/instances',
      persistent('leased', 3, { sessionId: 's1' }),
    );
    assert.equal(persistentSession.status, 400);
    assert.deepEqual(
      persistentSession.body.fields?.map((f) => f.field),
      ['sessionId'],
    );
    await s.call('DELETE', `/v1/instances?service=leased&ip=10.0.0.2&port=1`);
  });

  it('updates weight, enabled and metadata, keeping what is left out', async () => {
    await s.call('POST', '/v1/instances', persistent('payments', 9000, { metadata: { a: '1' } }));
    const res = await s.call('PATCH', '/v1/instances', { service: 'payments', ip: '10.0.0.1', port: 9000, weight: 5 });
    assert.equal(res.status, 200);
    const u = instanceAnswer.parse(res.body);
    assert.equal(u.instance.weight, 5);
    assert.deepEqual(u.instance.metadata, { a: '1' });
    const v = instanceAnswer.parse(
      (
        await s.call('PATCH', '/v1/instances', {
          service: 'payments',
          ip: '10.0.0.1',
          port: 9000,
          enabled: false,
          metadata: { b: '2' },
        })
      ).body,
    );
    assert.equal(v.instance.weight, 5);
    assert.equal(v.instance.enabled, false);
    assert.deepEqual(v.instance.metadata, { b: '2' });

    const nothing = await s.call<FieldErrorBody>('PATCH', '/v1/instances', {
      service: 'payments',
      ip: '10.0.0.1',
      port: 9000,
    });
    assert.equal(nothing.status, 400);
    const missing = await s.call<FieldErrorBody>('PATCH', '/v1/instances', {
      service: 'payments',
      ip: '10.0.0.1',
      port: 9001,
      weight: 1,
    });
    assert.equal(missing.status, 404);
    assert.equal(missing.body.code, 'NOT_FOUND');
  });

  it('deregisters, then answers NOT_FOUND for the instance', async () => {
    await s.call('POST', '/v1/instances', persistent('gone', 1000));
    const del = await s.call('DELETE', `/v1/instances${instanceQuery('gone', 1000)}`);
    assert.equal(del.status, 200);
    assert.equal(typeof del.body['revision'], 'number');
    const again = await s.call<FieldErrorBody>('DELETE', `/v1/instances${instanceQuery('gone', 1000)}`);
    assert.equal(again.status, 404);
    assert.equal(again.body.code, 'NOT_FOUND');
    const read = await s.call<FieldErrorBody>('GET', `/v1/instances${instanceQuery('gone', 1000)}`);
    assert.equal(read.status, 404);
    const badQuery = await s.call<FieldErrorBody>('DELETE', '/v1/instances?service=gone&ip=10.0.0.1&port=abc');
    assert.equal(badQuery.status, 400);
    assert.deepEqual(
      badQuery.body.fields?.map((f) => f.field),
      ['port'],
    );
  });

  it('renews leases one by one and in batches, naming the instances the registry does not hold', async () => {
    const key = { service: 'beating', ip: '10.0.0.3', port: 7000 };
    await s.call('POST', '/v1/instances', key);
    const one = await s.call('PUT', '/v1/instances/heartbeat', key);
    assert.equal(one.status, 200);
    const h = heartbeatAnswer.parse(one.body);
    assert.equal(h.lease, 'instance');
    assert.equal(h.heartbeatIntervalMs, 1000);

    const unknown = await s.call<FieldErrorBody>('PUT', '/v1/instances/heartbeat', { ...key, port: 7001 });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, /register it again/);

    await s.call('POST', '/v1/instances', persistent('beating', 7002));
    const batch = await s.call('PUT', '/v1/instances/heartbeat/batch', {
      instances: [key, key, { ...key, port: 7001 }, { service: 'beating', ip: '10.0.0.1', port: 7002 }],
    });
    assert.equal(batch.status, 200);
    const b = heartbeatBatchAnswer.parse(batch.body);
    assert.equal(b.renewed, 2, 'duplicates count once; the persistent instance is known');
    assert.deepEqual(b.unknown, [
      {
        namespace: 'public',
        group: 'DEFAULT_GROUP',
        service: 'beating',
        cluster: 'DEFAULT',
        ip: '10.0.0.3',
        port: 7001,
      },
    ]);
    const empty = await s.call<FieldErrorBody>('PUT', '/v1/instances/heartbeat/batch', { instances: [] });
    assert.equal(empty.status, 400);
    await s.call('DELETE', `/v1/instances?service=beating&ip=10.0.0.3&port=7000`);
  });

  it('answers an unknown route with NOT_FOUND', async () => {
    const res = await s.call<FieldErrorBody>('GET', '/v1/nothing-here');
    assert.equal(res.status, 404);
    assert.equal(res.body.code, 'NOT_FOUND');
  });
});
