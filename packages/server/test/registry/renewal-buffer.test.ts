import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RenewalBuffer, renewalBatches } from '../../src/registry/renewal-buffer.js';

describe('RenewalBuffer', () => {
  it('hands over what it gathered and starts over', () => {
    const b = new RenewalBuffer(100);
    b.add(['a', 'b']);
    b.add(['a']);
    assert.deepEqual(b.take(), ['a', 'b', 'a']);
    assert.equal(b.size, 0);
  });

  it('a pile-up is de-duplicated first, then its oldest ids are dropped', () => {
    const b = new RenewalBuffer(10);
    for (let round = 0; round < 5; round++) b.add(['x', 'y', 'z']);
    const held = b.take();
    assert.ok(held.length <= 10, `${held.length} held`);
    assert.deepEqual([...new Set(held)].sort(), ['x', 'y', 'z']);
    b.add(Array.from({ length: 11 }, (_, i) => `i${i}`));
    assert.deepEqual(b.take(), ['i6', 'i7', 'i8', 'i9', 'i10']);
  });

  it('splits forwarded renewals into batches under a byte bound, none lost', () => {
    const instances = Array.from({ length: 1000 }, (_, i) => `public/10.0.0.${i % 250}#${8000 + i}#DEFAULT#G@@s`);
    const batches = renewalBatches(instances, ['s1', 's2'], 4096);
    assert.ok(batches.length > 5);
    for (const batch of batches) assert.ok(JSON.stringify(batch).length <= 4096 + 64);
    assert.deepEqual(
      batches.flatMap((b) => b.instances),
      instances,
    );
    assert.deepEqual(
      batches.flatMap((b) => b.sessions),
      ['s1', 's2'],
    );
    assert.deepEqual(renewalBatches([], [], 4096), []);
  });
});
