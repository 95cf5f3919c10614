// Property: the per-namespace counts the quota checks read in O(1) (instanceCountIn, serviceCountIn,
// totalNamespaces) always equal what a full scan of the registry finds, through any sequence of
// commands (refused ones included) and across a snapshot and restore.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Command, RegisterSpec } from '../../src/registry/commands.js';
import { DEFAULT_HEARTBEAT } from '../../src/registry/model.js';
import { RegistryState } from '../../src/registry/registry-state.js';
import { fuzzParams } from './fuzz-kit.js';

const NAMESPACES = ['public', 'a', 'b'];
const SERVICES = ['s1', 's2', 's3'];
const SESSIONS = ['sess-1', 'sess-2'];

const key = fc.record({
  namespace: fc.constantFrom(...NAMESPACES),
  group: fc.constant('DEFAULT_GROUP'),
  service: fc.constantFrom(...SERVICES),
  cluster: fc.constant('DEFAULT'),
  ip: fc.constant('10.0.0.1'),
  port: fc.integer({ min: 1, max: 4 }),
});

const spec: fc.Arbitrary<RegisterSpec> = fc
  .tuple(
    key,
    fc.constantFrom<'instance' | 'session' | 'none'>('instance', 'session', 'none'),
    fc.constantFrom(...SESSIONS),
  )
  .map(([k, lease, sessionId]) => ({
    ...k,
    weight: 100,
    healthy: true,
    enabled: true,
    ephemeral: lease !== 'none',
    zone: 'az1',
    metadata: {},
    heartbeat: DEFAULT_HEARTBEAT,
    lease: lease === 'none' ? null : lease === 'instance' ? { kind: 'instance' } : { kind: 'session', sessionId },
    check: null,
  }));

type CommandInput = Command extends infer C ? (C extends Command ? Omit<C, 'ts'> : never) : never;

const command: fc.Arbitrary<CommandInput> = fc.oneof(
  { weight: 5, arbitrary: spec.map((instance) => ({ op: 'register', instance }) as const) },
  { weight: 2, arbitrary: key.map((k) => ({ op: 'deregister', key: k }) as const) },
  { weight: 1, arbitrary: fc.array(key, { maxLength: 3 }).map((keys) => ({ op: 'expire', keys }) as const) },
  {
    weight: 2,
    arbitrary: key.map(
      (k) =>
        ({
          op: 'service.put',
          service: { namespace: k.namespace, group: k.group, service: k.service, protectThreshold: 0, metadata: {} },
        }) as const,
    ),
  },
  {
    weight: 1,
    arbitrary: key.map(
      (k) => ({ op: 'service.delete', key: { namespace: k.namespace, group: k.group, service: k.service } }) as const,
    ),
  },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...NAMESPACES)
      .map((id) => ({ op: 'namespace.put', namespace: { id, name: id, description: '' } }) as const),
  },
  { weight: 1, arbitrary: fc.constantFrom(...NAMESPACES).map((id) => ({ op: 'namespace.delete', id }) as const) },
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(...SESSIONS)
      .map((sessionId) => ({ op: 'session.open', sessionId, ttlMs: 3000 }) as const),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...SESSIONS).map((id) => ({ op: 'session.close', sessionIds: [id] }) as const),
  },
);

function assertCounts(state: RegistryState, what: string): void {
  assert.equal(state.totalNamespaces, state.listNamespaces().length, `${what}: namespaces`);
  for (const ns of NAMESPACES) {
    const services = state.listServices({ namespace: ns });
    assert.equal(state.serviceCountIn(ns), services.length, `${what}: services in ${ns}`);
    const instances = services.reduce((n, s) => n + state.instanceCountOf(s), 0);
    assert.equal(state.instanceCountIn(ns), instances, `${what}: instances in ${ns}`);
  }
}

describe('registry counts per namespace', () => {
  it('match a full scan after every command, and after a snapshot and restore', () => {
    fc.assert(
      fc.property(fc.array(command, { minLength: 1, maxLength: 60 }), (commands) => {
        const state = new RegistryState();
        commands.forEach((c, i) => {
          state.apply(i + 1, { ...c, ts: 1_000_000 + i } as Command);
          assertCounts(state, `after command ${i} (${c.op})`);
        });
        assertCounts(RegistryState.restore(state.snapshot()), 'after restore');
      }),
      fuzzParams(150),
    );
  });
});
