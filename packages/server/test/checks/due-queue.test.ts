import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DueQueue } from '../../src/checks/due-queue.js';

describe('due queue', () => {
  it('pops items in due order', () => {
    const q = new DueQueue<number>();
    const times = Array.from({ length: 500 }, (_, i) => (i * 7919) % 1000);
    for (const t of times) q.push(t, t);
    assert.equal(q.peekDueAt(), 0);
    const out: number[] = [];
    while (q.size > 0) out.push(q.pop()!);
    assert.deepEqual(
      out,
      [...times].sort((a, b) => a - b),
    );
    assert.equal(q.pop(), undefined);
    assert.equal(q.peekDueAt(), Number.POSITIVE_INFINITY);
  });
});
