import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RegisterSpec } from '../../src/registry/commands.js';
import { DEFAULT_HEARTBEAT, type InstanceKey } from '../../src/registry/model.js';
import { RegistryState } from '../../src/registry/registry-state.js';

const key = (port: number, service = 'orders'): InstanceKey => ({
  namespace: 'public',
  group: 'DEFAULT_GROUP',
  service,
  cluster: 'DEFAULT',
  ip: '10.0.0.1',
  port,
});

const spec = (port: number, extra: Partial<RegisterSpec> = {}): RegisterSpec => ({
  ...key(port),
  weight: 100,
  healthy: true,
  enabled: true,
  ephemeral: true,
  zone: 'az1',
  metadata: { version: 'v1' },
  heartbeat: DEFAULT_HEARTBEAT,
  lease: { kind: 'instance' },
  check: null,
  ...extra,
});

describe('RegistryState', () => {
  it('registers into an implicitly created service, and re-registering the same instance changes nothing', () => {
    const s = new RegistryState();
    const first = s.apply(1, { op: 'register', ts: 1000, instance: spec(8080) });
    assert.equal(first.result.ok, true);
    assert.deepEqual(
      first.changes.map((c) => (c.kind === 'zoneWeight' ? c.kind : `${c.kind}:${c.action}`)),
      ['service:put', 'instance:put'],
    );
    const again = s.apply(2, { op: 'register', ts: 2000, instance: spec(8080) });
    assert.deepEqual(again.changes, []);
    const svc = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' };
    assert.equal(s.instancesRevisionOf(svc), 1, 'an unchanged re-registration leaves views of the service valid');
    s.apply(3, { op: 'update', ts: 3000, key: key(8080), patch: { weight: 5 } });
    assert.equal(s.instancesRevisionOf(svc), 3);
    assert.equal(s.instancesRevisionOf({ ...svc, service: 'none' }), undefined);
    assert.equal(s.instance(key(8080))?.registeredAt, 1000);
    assert.equal(s.instance(key(8080))?.id, '10.0.0.1#8080#DEFAULT#DEFAULT_GROUP@@orders');
    assert.equal(s.revision, 3);
  });

  it('applies health transitions and expiries in batches; persistent instances never expire', () => {
    const s = new RegistryState();
    s.apply(1, { op: 'register', ts: 0, instance: spec(1) });
    s.apply(2, { op: 'register', ts: 0, instance: spec(2, { ephemeral: false, lease: null }) });
    const h = s.apply(3, {
      op: 'health',
      ts: 5,
      changes: [
        { key: key(1), healthy: false },
        { key: key(2), healthy: false },
        { key: key(9), healthy: false },
      ],
    });
    assert.equal(h.changes.length, 2);
    assert.equal(s.instance(key(1))?.healthy, false);
    const e = s.apply(4, { op: 'expire', ts: 9, keys: [key(1), key(2)] });
    assert.equal(e.changes.length, 1);
    assert.equal(s.instance(key(1)), undefined);
    assert.ok(s.instance(key(2)), 'the persistent instance stays');
  });

  it('closing a session removes every instance it kept alive; registering into an unknown session is refused', () => {
    const s = new RegistryState();
    const refused = s.apply(1, {
      op: 'register',
      ts: 0,
      instance: spec(1, { lease: { kind: 'session', sessionId: 'S' } }),
    });
    assert.deepEqual(refused.result.ok, false);
    s.apply(2, { op: 'session.open', ts: 0, sessionId: 'S', ttlMs: 3000 });
    s.apply(3, { op: 'register', ts: 0, instance: spec(1, { lease: { kind: 'session', sessionId: 'S' } }) });
    s.apply(4, { op: 'register', ts: 0, instance: spec(2, { lease: { kind: 'session', sessionId: 'S' } }) });
    s.apply(5, { op: 'register', ts: 0, instance: spec(3) });
    const closed = s.apply(6, { op: 'session.close', ts: 0, sessionIds: ['S'] });
    assert.equal(closed.changes.length, 2);
    assert.deepEqual(
      s.instancesOf(key(0)).map((i) => i.port),
      [3],
    );
    assert.equal(s.session('S'), undefined);
  });

  it('refuses to delete a service that still has instances, or a namespace that still has services', () => {
    const s = new RegistryState();
    s.apply(1, { op: 'namespace.put', ts: 0, namespace: { id: 'dev', name: 'dev', description: '' } });
    s.apply(2, { op: 'register', ts: 0, instance: { ...spec(1), namespace: 'dev' } });
    const svc = { namespace: 'dev', group: 'DEFAULT_GROUP', service: 'orders' };
    assert.equal(s.apply(3, { op: 'service.delete', ts: 0, key: svc }).result.ok, false);
    assert.equal(s.apply(4, { op: 'namespace.delete', ts: 0, id: 'dev' }).result.ok, false);
    s.apply(5, { op: 'deregister', ts: 0, key: { ...key(1), namespace: 'dev' } });
    assert.equal(s.apply(6, { op: 'service.delete', ts: 0, key: svc }).result.ok, true);
    assert.equal(s.apply(7, { op: 'namespace.delete', ts: 0, id: 'dev' }).result.ok, true);
    assert.equal(s.apply(8, { op: 'namespace.delete', ts: 0, id: 'public' }).result.ok, false);
  });

  it('a snapshot restores the same state, sessions and zone weights included', () => {
    const s = new RegistryState();
    s.apply(1, { op: 'session.open', ts: 0, sessionId: 'S', ttlMs: 3000 });
    s.apply(2, { op: 'register', ts: 0, instance: spec(1, { lease: { kind: 'session', sessionId: 'S' } }) });
    s.apply(3, { op: 'register', ts: 0, instance: spec(2) });
    s.apply(4, { op: 'zone.weight', ts: 0, zone: 'az1', weight: 30 });
    const r = RegistryState.restore(s.snapshot());
    assert.equal(r.revision, 4);
    assert.deepEqual(r.instancesOf(key(0)), s.instancesOf(key(0)));
    assert.equal(r.zoneWeight('az1'), 30);
    assert.equal(r.totalInstances, 2);
    // The restored session still owns its instance.
    assert.equal(r.apply(5, { op: 'session.close', ts: 0, sessionIds: ['S'] }).changes.length, 1);
  });

  it('the binary snapshot restores the same state as the JSON one, in slices too', async () => {
    const s = new RegistryState();
    s.apply(1, { op: 'session.open', ts: 0, sessionId: 'S', ttlMs: 3000 });
    s.apply(2, { op: 'register', ts: 10, instance: spec(1, { lease: { kind: 'session', sessionId: 'S' } }) });
    s.apply(3, { op: 'register', ts: 20, instance: spec(2, { metadata: { version: 'v2', ünïcode: 'välue' } }) });
    s.apply(4, {
      op: 'register',
      ts: 30,
      instance: spec(3, {
        ephemeral: false,
        lease: null,
        check: { type: 'tcp', intervalMs: 2000, timeoutMs: 1000, rise: 2, fall: 3 },
      }),
    });
    s.apply(5, { op: 'health', ts: 25, changes: [{ key: key(2), healthy: false }] });
    s.apply(6, { op: 'namespace.put', ts: 0, namespace: { id: 'dev', name: 'dev', description: 'd' } });
    s.apply(7, { op: 'register', ts: 40, instance: { ...spec(4), namespace: 'dev', cluster: 'c-2', zone: 'az2' } });
    s.apply(8, { op: 'zone.weight', ts: 0, zone: 'az1', weight: 30 });
    const binary = await s.encodeSnapshot();
    assert.ok(binary.byteLength < s.snapshot().byteLength / 2, 'the binary form is compact');
    const json = Buffer.from(s.snapshot()).toString();
    assert.equal(Buffer.from(RegistryState.restore(binary).snapshot()).toString(), json);
    assert.equal(Buffer.from((await RegistryState.restoreInSlices(binary)).snapshot()).toString(), json);
    assert.equal(Buffer.from(RegistryState.restore(s.snapshot()).snapshot()).toString(), json, 'JSON still restores');
    const r = RegistryState.restore(binary);
    assert.equal(r.apply(9, { op: 'session.close', ts: 0, sessionIds: ['S'] }).changes.length, 1);
    assert.throws(() => RegistryState.restore(binary.subarray(0, binary.byteLength - 3)), /snapshot/);
  });

  it('a snapshot shows the state it began with, whatever is applied while it encodes', async () => {
    const s = new RegistryState();
    for (let port = 1; port <= 3000; port++) {
      s.apply(port, { op: 'register', ts: port, instance: spec(port, { ephemeral: false, lease: null }) });
    }
    s.apply(3001, { op: 'register', ts: 0, instance: { ...spec(1), service: 'payments' } });
    const expected = Buffer.from(s.snapshot()).toString();
    const pending = s.encodeSnapshot({ sliceMs: 0 });
    let rev = 3001;
    // Between slices: deregister, update, re-register, new instances, a new service, a service gone.
    for (let port = 1; port <= 3000; port += 7) {
      s.apply(++rev, { op: 'deregister', ts: 0, key: key(port) });
      s.apply(++rev, { op: 'update', ts: 0, key: key(port + 1), patch: { weight: 7 } });
      s.apply(++rev, { op: 'register', ts: 0, instance: spec(10_000 + port, { ephemeral: false, lease: null }) });
      await new Promise((resolve) => setImmediate(resolve));
    }
    s.apply(++rev, { op: 'deregister', ts: 0, key: { ...key(1), service: 'payments' } });
    s.apply(++rev, {
      op: 'service.delete',
      ts: 0,
      key: { namespace: 'public', group: 'DEFAULT_GROUP', service: 'payments' },
    });
    s.apply(++rev, { op: 'register', ts: 0, instance: { ...spec(1), service: 'later' } });
    const restored = RegistryState.restore(await pending);
    assert.equal(Buffer.from(restored.snapshot()).toString(), expected);
    assert.notEqual(Buffer.from(s.snapshot()).toString(), expected, 'the live state moved on');
  });

  it('instances share equal metadata, heartbeats and names, and the last one out lets go of them', () => {
    const s = new RegistryState();
    s.apply(1, { op: 'register', ts: 0, instance: spec(1, { metadata: { version: 'v1' } }) });
    s.apply(2, { op: 'register', ts: 0, instance: spec(2, { metadata: { version: 'v1' } }) });
    s.apply(3, { op: 'register', ts: 0, instance: spec(3, { metadata: { version: 'v2' } }) });
    const [a, b, c] = [s.instance(key(1))!, s.instance(key(2))!, s.instance(key(3))!];
    assert.equal(a.metadata, b.metadata, 'one shared map');
    assert.notEqual(a.metadata, c.metadata);
    assert.equal(a.heartbeat, c.heartbeat);
    assert.ok(Object.isFrozen(a.metadata), 'shared values cannot be changed through one instance');
    assert.deepEqual(s.sharedValueCounts, { metadata: 2, heartbeats: 1, checks: 0, names: 2 });
    s.apply(4, { op: 'update', ts: 0, key: key(3), patch: { metadata: { version: 'v1' } } });
    assert.equal(s.instance(key(3))?.metadata, a.metadata);
    assert.equal(s.sharedValueCounts.metadata, 1, 'v2 left with its last holder');
    for (const [i, port] of [1, 2, 3].entries()) s.apply(5 + i, { op: 'deregister', ts: 0, key: key(port) });
    assert.deepEqual(s.sharedValueCounts, { metadata: 0, heartbeats: 0, checks: 0, names: 0 });
  });

  it('refuses to apply an entry twice or out of order', () => {
    const s = new RegistryState();
    s.apply(5, { op: 'zone.weight', ts: 0, zone: 'az1', weight: 1 });
    assert.throws(() => s.apply(5, { op: 'zone.weight', ts: 0, zone: 'az1', weight: 2 }));
  });
});
