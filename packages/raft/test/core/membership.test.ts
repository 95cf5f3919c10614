// Membership changes, one node at a time, and leadership transfer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RaftError } from '../../src/core/index.js';
import { Cluster } from './cluster.js';

const EMPTY_CONF = { voters: [], learners: [] };

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof RaftError) return err.code;
    throw err;
  }
  return 'OK';
}

describe('membership', () => {
  it('a learner catches up before it may be promoted to voter', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    for (let i = 0; i < 5; i++) c.propose('a', `v${i}`);
    c.start('d', { hardState: { term: 0, vote: '', commit: 0 }, entries: [], snapshot: null }, EMPTY_CONF);
    c.isolate('d');
    c.core('a').proposeConfChange({ type: 'addLearner', node: 'd', context: '127.0.0.1:9004' });
    c.settle();
    assert.deepEqual(c.core('a').status().conf.learners, ['d']);
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'addVoter', node: 'd', context: '' })),
      'LEARNER_BEHIND',
    );
    c.heal();
    c.tickAll(3);
    assert.deepEqual(c.commands('d'), ['v0', 'v1', 'v2', 'v3', 'v4']);
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'addVoter', node: 'd', context: '' })),
      'OK',
    );
    c.tickAll(2);
    for (const id of ['a', 'b', 'c', 'd']) assert.deepEqual(c.core(id).status().conf.voters, ['a', 'b', 'c', 'd']);
    // A learner never campaigns; a voter does.
    assert.equal(c.core('d').status().conf.learners.length, 0);
  });

  it('a second configuration change while one is pending is refused', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.core('a').proposeConfChange({ type: 'addLearner', node: 'd', context: '' });
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'addLearner', node: 'e', context: '' })),
      'CONF_CHANGE_PENDING',
    );
    c.settle();
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'addLearner', node: 'e', context: '' })),
      'OK',
    );
  });

  it('nonsensical changes are refused with a reason', () => {
    const c = new Cluster(['a']);
    c.elect('a');
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'addVoter', node: 'a', context: '' })),
      'CONF_CHANGE_INVALID',
    );
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'removeNode', node: 'z', context: '' })),
      'CONF_CHANGE_INVALID',
    );
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'removeNode', node: 'a', context: '' })),
      'CONF_CHANGE_INVALID',
    );
  });

  it('removing the leader: it commits its own removal, steps down, and the rest elect a leader', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'before');
    c.core('a').proposeConfChange({ type: 'removeNode', node: 'a', context: '' });
    c.settle();
    assert.equal(c.core('a').status().role, 'follower');
    c.tickAll(40);
    const lead = c.leader();
    assert.ok(lead === 'b' || lead === 'c', `leader is ${lead}`);
    assert.deepEqual(c.core(lead).status().conf.voters, ['b', 'c']);
    c.propose(lead, 'after');
    c.tickAll(2);
    assert.deepEqual(c.commands(lead === 'b' ? 'c' : 'b'), ['before', 'after']);
    // The removed node never campaigns again.
    assert.notEqual(c.core('a').status().role, 'candidate');
  });

  it('a new leader may not change the configuration before applying an entry of its term', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { preVote: false } });
    c.core('a').campaign();
    c.intercept = (m) => (m.type === 'append' ? null : m);
    c.settle();
    assert.equal(c.core('a').status().role, 'leader');
    assert.equal(
      code(() => c.core('a').proposeConfChange({ type: 'addLearner', node: 'd', context: '' })),
      'CONF_CHANGE_PENDING',
    );
  });
});

describe('leadership transfer', () => {
  it('catches a lagging follower up, then hands over; proposals are refused meanwhile', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.isolate('c');
    c.propose('a', 'c-missed-this');
    c.heal();
    c.intercept = (m) => (m.to === 'c' && m.type === 'append' ? null : m);
    c.core('a').transferLeadership('c');
    c.settle();
    assert.equal(c.core('a').status().transferee, 'c');
    assert.equal(
      code(() => c.core('a').propose(new Uint8Array(1))),
      'TRANSFER_IN_PROGRESS',
    );
    c.intercept = null;
    c.tickAll(2);
    assert.equal(c.core('c').status().role, 'leader');
    assert.equal(c.core('a').status().leader, 'c');
    assert.deepEqual(c.commands('c'), ['c-missed-this']);
  });

  it('reaches a just-promoted learner that has not applied its promotion yet', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.start('d', { hardState: { term: 0, vote: '', commit: 0 }, entries: [], snapshot: null }, EMPTY_CONF);
    c.core('a').proposeConfChange({ type: 'addLearner', node: 'd', context: '' });
    c.tickAll(3);
    c.core('a').proposeConfChange({ type: 'addVoter', node: 'd', context: '' });
    // Hold back what would tell d that its promotion committed, and transfer at once.
    c.intercept = (m) =>
      m.to === 'd' && (m.type === 'append' || m.type === 'heartbeat') && m.commit > 0 ? { ...m, commit: 0 } : m;
    c.settle();
    c.core('a').transferLeadership('d');
    c.settle();
    assert.notEqual(c.core('d').status().role, 'leader', 'd ignored TimeoutNow: it is still a learner in its own view');
    c.intercept = null;
    c.tickAll(3);
    assert.equal(c.core('d').status().role, 'leader');
  });

  it('gives up after an election timeout when the target cannot catch up', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { checkQuorum: false } });
    c.elect('a');
    c.isolate('c');
    c.core('a').transferLeadership('c');
    c.tickAll(10);
    assert.equal(c.core('a').status().role, 'leader');
    assert.equal(c.core('a').status().transferee, '');
    assert.equal(
      code(() => c.core('a').propose(new Uint8Array(1))),
      'OK',
    );
  });
});
