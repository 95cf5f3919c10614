import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseDurationMs, serviceAnswer } from '../../../src/api/native/native-schemas.js';
import { type FieldErrorBody, type NativeServer, persistent, startNativeServer, until } from './native-harness.js';

const SERVICE = '/v1/services/public/DEFAULT_GROUP';

describe('native API: long-poll', () => {
  let s: NativeServer;
  before(async () => {
    s = await startNativeServer({ longPollsMax: 3 });
  });
  after(() => s.stop());

  /** Waits until `n` more polls than before are held (each is a watcher on the replica's hub). */
  const held = (server: NativeServer, base: number, n = 1) =>
    until(() => server.server.registry.hub.watcherCount >= base + n, 5000, `${n} polls are held`);
  const watchers = (server: NativeServer = s) => server.server.registry.hub.watcherCount;

  const revisionOf = async (name: string) => {
    const res = await s.call('GET', `${SERVICE}/${name}`);
    return serviceAnswer.parse(res.body).revision;
  };

  it('parses durations', () => {
    assert.equal(parseDurationMs('500ms'), 500);
    assert.equal(parseDurationMs('30s'), 30_000);
    assert.equal(parseDurationMs('1m'), 60_000);
    assert.equal(parseDurationMs('30'), undefined);
    assert.equal(parseDurationMs('1h'), undefined);
    assert.equal(parseDurationMs('-1s'), undefined);
  });

  it('holds a read until the service changes, then answers with the change and its revision', async () => {
    await s.call('POST', '/v1/instances', persistent('polled', 1));
    const r = await revisionOf('polled');
    const base = watchers();
    const started = Date.now();
    const poll = s.call('GET', `${SERVICE}/polled?waitIndex=${r}&wait=30s`);
    // Only once the poll is held does the change happen.
    await held(s, base);
    const write = await s.call('POST', '/v1/instances', persistent('polled', 2));
    const res = await poll;
    assert.equal(res.status, 200);
    const a = serviceAnswer.parse(res.body);
    assert.ok(Date.now() - started < 30_000, 'answered before the wait elapsed');
    assert.ok(a.revision > r);
    assert.ok(a.revision >= Number(write.body['revision']));
    assert.deepEqual(
      a.instances.map((i) => i.port),
      [1, 2],
    );
    assert.equal(res.headers.get('x-cairn-revision'), String(a.revision));
  });

  it('is not woken by changes to other services, and answers the current state when the wait elapses', async () => {
    await s.call('POST', '/v1/instances', persistent('quiet', 1));
    const r = await revisionOf('quiet');
    const base = watchers();
    const started = Date.now();
    const poll = s.call('GET', `${SERVICE}/quiet?waitIndex=${r}&wait=700ms`);
    await held(s, base);
    await s.call('POST', '/v1/instances', persistent('noisy', 1));
    await s.call('PUT', '/v1/namespaces/elsewhere', {});
    const res = await poll;
    assert.ok(Date.now() - started >= 650, 'held for its whole wait');
    const a = serviceAnswer.parse(res.body);
    assert.ok(a.revision > r, 'the answer carries the current revision');
    assert.deepEqual(
      a.instances.map((i) => i.port),
      [1],
    );
  });

  it('answers at once when the service already changed after waitIndex', async () => {
    await s.call('POST', '/v1/instances', persistent('moved', 1));
    const r = await revisionOf('moved');
    await s.call('PATCH', '/v1/instances', { service: 'moved', ip: '10.0.0.1', port: 1, weight: 7 });
    const started = Date.now();
    const res = await s.call('GET', `${SERVICE}/moved?waitIndex=${r}&wait=30s`);
    assert.ok(Date.now() - started < 30_000);
    assert.equal(serviceAnswer.parse(res.body).instances[0]?.weight, 7);
  });

  it('waits for a service that does not exist yet', async () => {
    const missing = await s.call<FieldErrorBody>('GET', `${SERVICE}/ghost`);
    assert.equal(missing.status, 404);
    const r = Number(missing.headers.get('x-cairn-revision'));
    assert.ok(r > 0);
    const base = watchers();
    const poll = s.call('GET', `${SERVICE}/ghost?waitIndex=${r}&wait=30s`);
    await held(s, base);
    await s.call('POST', '/v1/instances', persistent('ghost', 9));
    const res = await poll;
    assert.equal(res.status, 200);
    assert.equal(serviceAnswer.parse(res.body).instances.length, 1);
  });

  it('refuses bad waits, and bounds the polls held at once with RATE_LIMITED', async () => {
    for (const q of ['waitIndex=1&wait=5h', 'waitIndex=1&wait=61s', 'wait=1s', 'waitIndex=-1', 'waitIndex=x']) {
      const res = await s.call<FieldErrorBody>('GET', `${SERVICE}/polled?${q}`);
      assert.equal(res.status, 400, q);
      assert.equal(res.body.code, 'VALIDATION_FAILED');
    }
    await s.call('POST', '/v1/instances', persistent('crowded', 1));
    const r = await revisionOf('crowded');
    const base = watchers();
    const polls = [1, 2, 3].map(() => s.call('GET', `${SERVICE}/crowded?waitIndex=${r}&wait=30s`));
    await held(s, base, 3);
    const refused = await s.call<FieldErrorBody>('GET', `${SERVICE}/crowded?waitIndex=${r}&wait=30s`);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'RATE_LIMITED');
    await s.call('POST', '/v1/instances', persistent('crowded', 2));
    for (const res of await Promise.all(polls)) assert.equal(serviceAnswer.parse(res.body).instances.length, 2);
    await until(() => watchers() === base, 5000, 'the polls are released');
  });

  it('answers a held poll when the server closes, instead of holding the shutdown up', async () => {
    const other = await startNativeServer();
    try {
      await other.call('POST', '/v1/instances', persistent('closing', 1));
      const r = serviceAnswer.parse((await other.call('GET', `${SERVICE}/closing`)).body).revision;
      const base = watchers(other);
      const started = Date.now();
      const poll = other.call('GET', `${SERVICE}/closing?waitIndex=${r}&wait=60s`).catch((err: unknown) => err);
      await held(other, base);
      await other.stop();
      const res = await poll;
      assert.ok(Date.now() - started < 60_000, 'the shutdown did not wait for the poll');
      if (!(res instanceof Error)) assert.equal((res as { status: number }).status, 200);
    } finally {
      await other.stop();
    }
  });
});
