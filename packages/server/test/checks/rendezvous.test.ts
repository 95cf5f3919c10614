import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hash53, rendezvousOwner } from '../../src/checks/rendezvous.js';

const ids = Array.from(
  { length: 3000 },
  (_, i) => `10.0.${i % 250}.${i % 7}#${8000 + i}#DEFAULT#DEFAULT_GROUP@@svc-${i % 13}`,
);

describe('rendezvous assignment of instances to replicas', () => {
  it('is a pure function of the key and the set (order of the replicas does not matter)', () => {
    assert.equal(hash53('abc'), hash53('abc'));
    assert.notEqual(hash53('abc'), hash53('abd'));
    for (const id of ids.slice(0, 200)) {
      assert.equal(rendezvousOwner(id, ['n1', 'n2', 'n3']), rendezvousOwner(id, ['n3', 'n1', 'n2']));
    }
    assert.equal(rendezvousOwner('x', []), undefined);
  });

  it('spreads keys roughly evenly', () => {
    const counts = new Map<string, number>();
    for (const id of ids) {
      const o = rendezvousOwner(id, ['n1', 'n2', 'n3'])!;
      counts.set(o, (counts.get(o) ?? 0) + 1);
    }
    for (const n of ['n1', 'n2', 'n3']) assert.ok((counts.get(n) ?? 0) > 800, `${n} got ${counts.get(n)}`);
  });

  it('moves only the keys of a replica that leaves, and the owner among a set owns the key in any subset', () => {
    for (const id of ids) {
      const all = rendezvousOwner(id, ['n1', 'n2', 'n3'])!;
      const without3 = rendezvousOwner(id, ['n1', 'n2'])!;
      if (all !== 'n3') assert.equal(without3, all, 'a key not owned by the leaver stays put');
      // The subset property the checker relies on: a replica that counts itself never skips its keys.
      const others = ['n1', 'n2', 'n3'].filter((n) => n !== all);
      for (const drop of others) {
        assert.equal(
          rendezvousOwner(
            id,
            ['n1', 'n2', 'n3'].filter((n) => n !== drop),
          ),
          all,
        );
      }
    }
  });
});
