import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { connectSession, connectWatch, is, WatchView } from './push-client.js';
import { ref, startSingleNode } from './single-node.js';

const inst = (port: number) => ({ service: 'orders', ip: '10.1.0.1', port, metadata: { v: '1' } });

describe('/v1/session on one in-process replica', () => {
  it('opens a lease, registers and deregisters under it, answers keepalives, and close removes everything at once', async (t) => {
    const node = await startSingleNode();
    t.after(() => node.close());
    const watch = await connectWatch(node.url);
    t.after(() => watch.terminate());
    watch.send({ type: 'subscribe', sub: 'o', services: [ref('orders')] });
    const view = new WatchView(watch, 'o');

    const s = await connectSession(node.url);
    t.after(() => s.terminate());
    assert.equal((await s.take(is('hello'))).zone, 'az1');
    s.send({ type: 'keepalive' });
    assert.equal((await s.take(is('error'))).code, 'CONFLICT', 'nothing before open');
    s.send({ type: 'open' });
    const opened = await s.take(is('opened'));
    assert.equal(opened.ttlMs, 3000, 'the default TTL');
    assert.equal(opened.keepaliveMs, 1000);
    assert.equal(opened.resumed, false);
    assert.ok(node.registry.state.session(opened.sessionId));
    s.send({ type: 'open' });
    assert.equal((await s.take(is('error'))).code, 'CONFLICT', 'one session per socket');

    s.send({ type: 'register', reqId: 1, instance: inst(8080) });
    s.send({ type: 'register', reqId: 2, instance: inst(8081) });
    const r1 = await s.take((m) => m.type === 'registered' && m.reqId === 1);
    const r2 = await s.take((m) => m.type === 'registered' && m.reqId === 2);
    assert.ok(r1.type === 'registered' && r2.type === 'registered');
    assert.equal(r1.instance.zone, 'az1');
    assert.equal(r1.instance.weight, 100);
    assert.equal(r1.instance.ephemeral, true);
    await view.until((v) => v.instances.size === 2);

    s.send({ type: 'keepalive' });
    const alive = await s.take(is('alive'));
    assert.ok(alive.revision >= r2.revision);
    assert.equal(alive.leader, true);

    s.send({ type: 'deregister', reqId: 3, instance: { service: 'orders', ip: '10.9.9.9', port: 1 } });
    const missing = await s.take(is('error'));
    assert.equal(missing.code, 'NOT_FOUND');
    assert.equal(missing.reqId, 3);
    s.send({ type: 'deregister', reqId: 4, instance: { service: 'orders', ip: '10.1.0.1', port: 8081 } });
    const dereg = await s.take(is('deregistered'));
    assert.equal(dereg.reqId, 4);
    await view.until((v) => v.instances.size === 1);

    s.send({ type: 'register', reqId: 5, instance: { service: 'orders', ip: '10.1.0.1', port: 0 } });
    const bad = await s.take(is('error'));
    assert.equal(bad.code, 'VALIDATION_FAILED');
    assert.equal(bad.reqId, 5);

    s.send({ type: 'close' });
    const closed = await s.take(is('closed'));
    assert.equal((await s.closed).code, 1000);
    await view.until((v) => v.instances.size === 0);
    assert.equal(node.registry.state.session(opened.sessionId), undefined);
    const deletes = view.instanceChanges().filter((c) => c.action === 'delete' && c.revision === closed.revision);
    assert.equal(deletes.length, 1, 'the session close removed its remaining instance in its own revision');
  });

  it('resumes a live session on a new socket without touching its instances; an expired one is answered `expired`', async (t) => {
    const node = await startSingleNode();
    t.after(() => node.close());
    const first = await connectSession(node.url);
    first.send({ type: 'open', ttlMs: 5000 });
    const opened = await first.take(is('opened'));
    first.send({ type: 'register', reqId: 1, instance: inst(9000) });
    const reg = await first.take(is('registered'));
    await first.terminate();

    const second = await connectSession(node.url);
    t.after(() => second.terminate());
    second.send({ type: 'open', sessionId: opened.sessionId });
    const resumed = await second.take(is('opened'));
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.sessionId, opened.sessionId);
    assert.equal(resumed.ttlMs, 5000, 'the TTL the session was opened with');
    assert.equal(node.registry.state.instance(reg.instance)?.revision, reg.revision, 'instance untouched');

    const other = await connectSession(node.url);
    t.after(() => other.terminate());
    other.send({ type: 'open', sessionId: 'no-such-session-0000' });
    const expired = await other.take(is('expired'));
    assert.equal(expired.sessionId, 'no-such-session-0000');
    other.send({ type: 'open' });
    assert.equal((await other.take(is('opened'))).resumed, false, 'a new session opens on the same socket');
  });

  it('a socket whose session expires under it is told `expired` and can open a new one', async (t) => {
    const node = await startSingleNode({ limits: { sweepMs: 20 } });
    t.after(() => node.close());
    const s = await connectSession(node.url);
    t.after(() => s.terminate());
    s.send({ type: 'open', ttlMs: 1000 });
    const opened = await s.take(is('opened'));
    s.send({ type: 'register', reqId: 1, instance: inst(7000) });
    await s.take(is('registered'));
    // The registry closes the session (as the leader does when its lease runs out).
    await node.registry.execute({ op: 'session.close', sessionIds: [opened.sessionId] });
    const expired = await s.take(is('expired'));
    assert.equal(expired.sessionId, opened.sessionId);
    s.send({ type: 'register', reqId: 2, instance: inst(7000) });
    assert.equal((await s.take(is('error'))).reqId, 2, 'no session any more');
    s.send({ type: 'open', ttlMs: 1000 });
    const again = await s.take(is('opened'));
    assert.notEqual(again.sessionId, opened.sessionId);
  });

  it('refuses bad frames with errors and a socket that never opens a session is closed', async (t) => {
    const node = await startSingleNode({ limits: { openTimeoutMs: 200, sweepMs: 20 } });
    t.after(() => node.close());
    const s = await connectSession(node.url);
    s.sendRaw('[1,2,3]');
    assert.equal((await s.take(is('error'))).code, 'VALIDATION_FAILED');
    s.sendRaw(JSON.stringify({ type: 'open', ttlMs: 10 }));
    const ttl = await s.take(is('error'));
    assert.ok(ttl.fields?.some((f) => f.field === 'ttlMs'));
    s.sendRaw(JSON.stringify({ type: 'open', sessionId: '../../etc' }));
    assert.ok((await s.take(is('error'))).fields?.some((f) => f.field === 'sessionId'));
    assert.equal((await s.closed).code, 4000);
  });
});
