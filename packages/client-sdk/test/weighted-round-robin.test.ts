import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { SmoothWeightedRoundRobin } from '../src/index.js';

describe('SmoothWeightedRoundRobin', () => {
  it('interleaves picks by weight (5:1:1 gives a a b a c a a)', () => {
    const rr = new SmoothWeightedRoundRobin([
      { value: 'a', weight: 5 },
      { value: 'b', weight: 1 },
      { value: 'c', weight: 1 },
    ]);
    assert.deepEqual(
      Array.from({ length: 7 }, () => rr.next()),
      ['a', 'a', 'b', 'a', 'c', 'a', 'a'],
    );
  });

  it('skips zero weights and returns undefined when nothing is eligible', () => {
    assert.equal(new SmoothWeightedRoundRobin([{ value: 'x', weight: 0 }]).next(), undefined);
    const rr = new SmoothWeightedRoundRobin([
      { value: 'x', weight: 0 },
      { value: 'y', weight: 3 },
    ]);
    assert.deepEqual([rr.next(), rr.next()], ['y', 'y']);
  });

  it('over one full cycle every candidate is picked exactly its weight in times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 8 }), (weights) => {
        const rr = new SmoothWeightedRoundRobin(weights.map((weight, value) => ({ value, weight })));
        const total = weights.reduce((a, b) => a + b, 0);
        const counts = new Array<number>(weights.length).fill(0);
        for (let i = 0; i < total; i++) counts[rr.next()!]!++;
        assert.deepEqual(counts, weights);
      }),
    );
  });
});
