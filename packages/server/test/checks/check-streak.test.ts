import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CheckStreak } from '../../src/checks/check-streak.js';

describe('rise/fall accounting', () => {
  it('turns unhealthy only after `fall` consecutive failures', () => {
    const s = new CheckStreak();
    for (let i = 1; i < 3; i++) {
      s.record(false);
      assert.equal(s.verdict(true, 2, 3), null, `no change after ${i} failures`);
    }
    s.record(false);
    assert.equal(s.verdict(true, 2, 3), false);
    // Once the registry says unhealthy, more failures ask for nothing.
    s.record(false);
    assert.equal(s.verdict(false, 2, 3), null);
  });

  it('turns healthy again only after `rise` consecutive successes', () => {
    const s = new CheckStreak();
    s.record(true);
    assert.equal(s.verdict(false, 2, 3), null);
    s.record(true);
    assert.equal(s.verdict(false, 2, 3), true);
  });

  it('a single result the other way resets the run', () => {
    const s = new CheckStreak();
    s.record(false);
    s.record(false);
    s.record(true);
    s.record(false);
    s.record(false);
    assert.equal(s.verdict(true, 2, 3), null, 'two failures after a success are not three in a row');
    s.record(false);
    assert.equal(s.verdict(true, 2, 3), false);
  });

  it('never asks for the health the registry already holds', () => {
    const s = new CheckStreak();
    for (let i = 0; i < 5; i++) s.record(true);
    assert.equal(s.verdict(true, 1, 1), null);
  });
});
