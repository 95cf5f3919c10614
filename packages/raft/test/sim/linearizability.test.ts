import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkLinearizability, type HistoryOp, type KvInput, type KvOutput } from '../../src/sim/linearizability.js';

const INF = Number.POSITIVE_INFINITY;

function put(clientId: number, key: string, value: string, callTime: number, returnTime: number | null): HistoryOp {
  return op(clientId, 'put', { key, value }, returnTime === null ? undefined : { ok: true }, callTime, returnTime);
}

function get(
  clientId: number,
  key: string,
  value: string | undefined,
  callTime: number,
  returnTime: number,
): HistoryOp {
  return op(clientId, 'get', { key }, value === undefined ? { ok: true } : { ok: true, value }, callTime, returnTime);
}

function cas(
  clientId: number,
  key: string,
  expected: string | undefined,
  value: string,
  ok: boolean | null,
  callTime: number,
  returnTime: number | null,
): HistoryOp {
  const input: KvInput = expected === undefined ? { key, value } : { key, value, expected };
  return op(clientId, 'cas', input, ok === null ? undefined : { ok }, callTime, returnTime);
}

function op(
  clientId: number,
  name: HistoryOp['op'],
  input: KvInput,
  output: KvOutput | undefined,
  callTime: number,
  returnTime: number | null,
): HistoryOp {
  return { clientId, op: name, input, output, callTime, returnTime: returnTime ?? INF };
}

function kindOf(history: HistoryOp[]): string {
  return checkLinearizability(history).kind;
}

describe('linearizability: hand-written histories', () => {
  it('accepts an empty history and a read of an absent key', () => {
    assert.equal(kindOf([]), 'ok');
    assert.equal(kindOf([get(1, 'x', undefined, 0, 1)]), 'ok');
  });

  it('accepts sequential writes and reads', () => {
    assert.equal(
      kindOf([put(1, 'x', 'a', 0, 1), get(2, 'x', 'a', 2, 3), put(1, 'x', 'b', 4, 5), get(2, 'x', 'b', 6, 7)]),
      'ok',
    );
  });

  it('rejects a stale read after a completed write', () => {
    const history = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 3), get(2, 'x', 'a', 4, 5)];
    const result = checkLinearizability(history);
    assert.equal(result.kind, 'violation');
    assert.equal(result.kind === 'violation' && result.key, 'x');
  });

  it('accepts either value for a read concurrent with a write', () => {
    assert.equal(kindOf([put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 10), get(2, 'x', 'a', 3, 4)]), 'ok');
    assert.equal(kindOf([put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 10), get(2, 'x', 'b', 3, 4)]), 'ok');
  });

  it('rejects a value that goes back after a newer one was read', () => {
    // The write of b is still running, but once someone has read b, nobody may read a afterwards.
    const history = [put(1, 'x', 'a', 0, 1), put(1, 'x', 'b', 2, 20), get(2, 'x', 'b', 3, 4), get(3, 'x', 'a', 5, 6)];
    assert.equal(kindOf(history), 'violation');
  });

  it('rejects two readers that observe two concurrent writes in opposite orders', () => {
    const history = [
      put(1, 'x', 'a', 0, 100),
      put(2, 'x', 'b', 0, 100),
      get(3, 'x', 'a', 10, 11),
      get(3, 'x', 'b', 12, 13),
      get(4, 'x', 'b', 10, 11),
      get(4, 'x', 'a', 12, 13),
    ];
    assert.equal(kindOf(history), 'violation');
  });

  it('accepts readers that observe concurrent writes in the same order', () => {
    const history = [
      put(1, 'x', 'a', 0, 100),
      put(2, 'x', 'b', 0, 100),
      get(3, 'x', 'a', 10, 11),
      get(3, 'x', 'b', 12, 13),
      get(4, 'x', 'a', 10, 11),
      get(4, 'x', 'b', 12, 13),
    ];
    assert.equal(kindOf(history), 'ok');
  });

  it('accepts an indeterminate write that took effect, even long after its client gave up', () => {
    const history = [
      put(1, 'x', 'a', 0, 1),
      put(2, 'x', 'b', 2, null),
      get(3, 'x', 'a', 5, 6),
      get(3, 'x', 'b', 50, 51),
    ];
    assert.equal(kindOf(history), 'ok');
  });

  it('accepts an indeterminate write that never took effect', () => {
    const history = [
      put(1, 'x', 'a', 0, 1),
      put(2, 'x', 'b', 2, null),
      get(3, 'x', 'a', 5, 6),
      get(3, 'x', 'a', 50, 51),
    ];
    assert.equal(kindOf(history), 'ok');
  });

  it('rejects an indeterminate write that appears and then disappears', () => {
    const history = [
      put(1, 'x', 'a', 0, 1),
      put(2, 'x', 'b', 2, null),
      get(3, 'x', 'b', 5, 6),
      get(3, 'x', 'a', 50, 51),
    ];
    assert.equal(kindOf(history), 'violation');
  });

  it('rejects an indeterminate write observed before it was called', () => {
    const history = [put(1, 'x', 'a', 0, 1), get(3, 'x', 'b', 5, 6), put(2, 'x', 'b', 7, null)];
    assert.equal(kindOf(history), 'violation');
  });

  it('checks cas against the register', () => {
    assert.equal(kindOf([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', true, 2, 3), get(1, 'x', 'b', 4, 5)]), 'ok');
    assert.equal(kindOf([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'z', 'b', true, 2, 3)]), 'violation');
    assert.equal(kindOf([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', false, 2, 3)]), 'violation');
    assert.equal(kindOf([cas(2, 'x', undefined, 'b', true, 0, 1), get(1, 'x', 'b', 2, 3)]), 'ok');
    // An indeterminate cas takes effect only if its expectation held where it is placed.
    assert.equal(
      kindOf([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'z', 'b', null, 2, null), get(1, 'x', 'b', 9, 10)]),
      'violation',
    );
    assert.equal(kindOf([put(1, 'x', 'a', 0, 1), cas(2, 'x', 'a', 'b', null, 2, null), get(1, 'x', 'b', 9, 10)]), 'ok');
  });

  it('checks keys independently and names the broken one', () => {
    const history = [put(1, 'x', 'a', 0, 1), put(1, 'y', 'a', 0, 1), get(2, 'x', 'a', 2, 3), get(2, 'y', 'b', 2, 3)];
    const result = checkLinearizability(history);
    assert.equal(result.kind, 'violation');
    assert.equal(result.kind === 'violation' && result.key, 'y');
  });

  it('reports unknown instead of searching past its budget', () => {
    // Many overlapping indeterminate writes, each seen by some read, and a final impossible read:
    // the search must rule out every order, which is exponential without a budget.
    const history: HistoryOp[] = [];
    for (let c = 0; c < 40; c++) history.push(put(c, 'x', `v${c}`, c, null), get(c + 40, 'x', `v${c}`, 0, 99));
    history.push(get(99, 'x', 'never-written', 100, 101));
    const result = checkLinearizability(history, { stepsMax: 10_000 });
    assert.equal(result.kind, 'unknown');
  });

  it('settles many indeterminate writes quickly when nobody observed their values', () => {
    const history: HistoryOp[] = [put(0, 'x', 'a', 0, 1)];
    for (let c = 1; c < 60; c++) history.push(put(c, 'x', `v${c}`, c, null));
    history.push(get(99, 'x', 'a', 100, 101), get(99, 'x', 'v7', 102, 103));
    assert.equal(checkLinearizability(history, { stepsMax: 10_000 }).kind, 'ok');
    history.push(get(99, 'x', 'a', 104, 105));
    assert.equal(checkLinearizability(history, { stepsMax: 10_000 }).kind, 'violation');
  });

  it('rejects an operation that returns before it was called', () => {
    assert.throws(() => checkLinearizability([get(1, 'x', undefined, 5, 4)]));
  });
});

/** A history made by an atomic register: each op takes effect at one instant inside its interval. */
interface Planned {
  clientId: number;
  name: HistoryOp['op'];
  key: string;
  value: string;
  expected: string | undefined;
  point: number;
  before: number;
  after: number;
  /** 0: known outcome; 1: unknown outcome, took effect; 2: unknown outcome, never took effect. */
  fate: number;
}

const plannedOp = fc.record({
  clientId: fc.integer({ min: 0, max: 5 }),
  name: fc.constantFrom<HistoryOp['op']>('put', 'get', 'get', 'cas'),
  key: fc.constantFrom('x', 'y'),
  value: fc.constantFrom('a', 'b', 'c', 'd'),
  expected: fc.constantFrom<string | undefined>(undefined, 'a', 'b', 'c'),
  point: fc.integer({ min: 0, max: 1000 }),
  before: fc.integer({ min: 0, max: 60 }),
  after: fc.integer({ min: 0, max: 60 }),
  fate: fc.constantFrom(0, 0, 0, 0, 1, 2),
});

function runAtomically(plan: readonly Planned[]): HistoryOp[] {
  const store = new Map<string, string>();
  const ordered = [...plan].map((p, i) => ({ p, i })).sort((a, b) => a.p.point - b.p.point || a.i - b.i);
  const history: HistoryOp[] = [];
  for (const { p } of ordered) {
    const input: KvInput =
      p.name === 'get'
        ? { key: p.key }
        : p.name === 'put' || p.expected === undefined
          ? { key: p.key, value: p.value }
          : { key: p.key, value: p.value, expected: p.expected };
    let output: KvOutput | undefined;
    if (p.fate !== 2) {
      const current = store.get(p.key);
      if (p.name === 'put') {
        store.set(p.key, p.value);
        output = { ok: true };
      } else if (p.name === 'get') {
        output = current === undefined ? { ok: true } : { ok: true, value: current };
      } else {
        const swaps = current === input.expected;
        if (swaps) store.set(p.key, p.value);
        output = { ok: swaps };
      }
    }
    const known = p.fate === 0;
    history.push({
      clientId: p.clientId,
      op: p.name,
      input,
      output: known ? output : undefined,
      callTime: p.point - p.before,
      returnTime: known ? p.point + p.after : INF,
    });
  }
  return history;
}

describe('linearizability: properties', () => {
  it('accepts every history produced by an atomic register', () => {
    fc.assert(
      fc.property(fc.array(plannedOp, { maxLength: 40 }), (plan) => {
        const result = checkLinearizability(runAtomically(plan));
        assert.equal(result.kind, 'ok');
      }),
      { numRuns: 300, seed: 4242 },
    );
  });

  it('rejects a history where a read returns a value nobody wrote', () => {
    fc.assert(
      fc.property(fc.array(plannedOp, { minLength: 1, maxLength: 30 }), fc.nat(), (plan, which) => {
        const history = runAtomically(plan);
        const reads = history.filter((h) => h.op === 'get' && h.output !== undefined);
        fc.pre(reads.length > 0);
        const victim = reads[which % reads.length]!;
        const corrupted = history.map((h) => (h === victim ? { ...h, output: { ok: true, value: 'phantom' } } : h));
        assert.equal(checkLinearizability(corrupted).kind, 'violation');
      }),
      { numRuns: 200, seed: 4243 },
    );
  });
});
