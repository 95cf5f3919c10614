// ReadIndex: linearizable reads without writing to the log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster } from './cluster.js';

/** Founders of a three-node cluster start with three committed configuration entries. */
const BOOT = 3;

describe('ReadIndex', () => {
  it('the leader answers with its commit index once a quorum confirms its leadership', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x');
    c.core('a').readIndex('r1');
    c.settle();
    assert.deepEqual(c.node('a').readStates, [{ context: 'r1', index: BOOT + 2, reject: false }]);
  });

  it('a follower forwards the request and reads at the leader index', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'x');
    c.core('c').readIndex('from-c');
    c.settle();
    assert.deepEqual(c.node('c').readStates, [{ context: 'from-c', index: BOOT + 2, reject: false }]);
  });

  it('is refused until the new leader has committed an entry of its term', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { preVote: false } });
    c.core('a').campaign();
    // Deliver the election but not the appends that would commit the empty entry.
    c.intercept = (m) => (m.type === 'append' ? null : m);
    c.settle();
    assert.equal(c.core('a').status().role, 'leader');
    c.core('a').readIndex('early');
    c.settle();
    assert.deepEqual(c.node('a').readStates, [{ context: 'early', index: 0, reject: true }]);
    c.intercept = null;
    c.tickAll(1);
    c.core('a').readIndex('later');
    c.settle();
    assert.deepEqual(c.node('a').readStates.at(-1), { context: 'later', index: BOOT + 1, reject: false });
  });

  it('a deposed leader never serves a stale read', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { checkQuorum: false, preVote: false } });
    c.elect('a');
    c.isolate('a');
    c.elect('b');
    c.propose('b', 'newer');
    // a still believes it leads; its read cannot gather a quorum.
    c.core('a').readIndex('stale?');
    c.settle();
    assert.deepEqual(c.node('a').readStates, []);
    c.heal();
    c.tickAll(2);
    assert.equal(c.core('a').status().role, 'follower');
    assert.deepEqual(c.node('a').readStates, [{ context: 'stale?', index: 0, reject: true }]);
  });

  it('with the planted bug, an isolated old leader answers a read it cannot know is current', () => {
    const c = new Cluster(['a', 'b', 'c'], {
      config: { checkQuorum: false, preVote: false },
      plantedBugs: { readIndexWithoutQuorum: true },
    });
    c.elect('a');
    c.isolate('a');
    c.elect('b');
    c.propose('b', 'newer');
    c.core('a').readIndex('stale');
    c.settle();
    assert.deepEqual(c.node('a').readStates, [{ context: 'stale', index: BOOT + 1, reject: false }]);
    assert.equal(c.core('b').status().commit, BOOT + 3, 'while the real commit index is already higher');
  });
});
