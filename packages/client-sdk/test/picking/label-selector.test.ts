import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { matchesLabels, selectorKey } from '../../src/picking/label-selector.js';

describe('label selectors', () => {
  it('match instances carrying every label', () => {
    assert.ok(matchesLabels({ version: 'gray', region: 'x' }, { version: 'gray' }));
    assert.ok(!matchesLabels({ version: 'stable' }, { version: 'gray' }));
    assert.ok(!matchesLabels({}, { version: 'gray' }));
    assert.ok(matchesLabels({}, {}));
  });

  it('two selectors share a key exactly when they are equal (order of keys aside)', () => {
    const selector = fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 }), { maxKeys: 4 });
    fc.assert(
      fc.property(selector, selector, (a, b) => {
        const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
        assert.equal(selectorKey({ ...a }) === selectorKey({ ...b }), same);
      }),
    );
    assert.equal(selectorKey({ b: '1', a: '2' }), selectorKey({ a: '2', b: '1' }));
    assert.equal(selectorKey(undefined), '');
    assert.equal(selectorKey({}), '');
  });
});
