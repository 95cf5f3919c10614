// Elections: who may lead, and when.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster } from './cluster.js';

/** Founders of a three-node cluster start with three committed configuration entries. */
const BOOT = 3;

describe('elections', () => {
  it('a campaigning node with an up-to-date log wins and appends an empty entry of its term', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    const s = c.core('a').status();
    assert.equal(s.role, 'leader');
    assert.equal(s.term, 1);
    assert.equal(s.commit, BOOT + 1, 'the empty entry commits once a majority stores it');
    assert.equal(c.core('b').status().leader, 'a');
    assert.equal(c.core('c').status().commit, BOOT + 1);
  });

  it('a founder that crashes right after its first write still knows the voters', () => {
    const c = new Cluster(['a', 'b', 'c']);
    // The constructor settled the first Ready: bootstrap entries and their commit index are on disk.
    assert.equal(c.node('a').disk.hardState.commit, BOOT);
    c.crash('a');
    c.restart('a', { voters: [], learners: [] });
    assert.deepEqual(c.core('a').status().conf.voters, ['a', 'b', 'c']);
  });

  it('election timeouts fire on their own and exactly one leader emerges', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.tickAll(30);
    const leaders = ['a', 'b', 'c'].filter((id) => c.core(id).status().role === 'leader');
    assert.equal(leaders.length, 1);
  });

  it('followers that see their link to a dead leader break elect a new one within a third of a timeout', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.crash('a');
    // The transport saw both connections to a drop; an election timeout is 10 to 19 ticks.
    c.core('b').leaderUnreachable('a');
    c.core('c').leaderUnreachable('a');
    let ticks = 0;
    while (c.leader() === undefined && ticks < 10) {
      c.tickAll(1);
      ticks++;
    }
    assert.ok(['b', 'c'].includes(c.leader() ?? ''), 'b or c leads');
    assert.ok(ticks <= 3, `elected after ${ticks} ticks`);
    assert.equal(c.core(c.leader()!).status().term, 2);
  });

  it('a false alarm about the leader deposes nobody: the follower that still hears it ignores the campaign', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.cutLink('a', 'b');
    c.core('b').leaderUnreachable('a');
    for (let i = 0; i < 4; i++) {
      c.tick('b');
      c.tick('a');
      c.settle();
    }
    assert.equal(c.core('a').status().role, 'leader');
    assert.equal(c.core('a').status().term, 1, 'pre-vote kept the term');
    assert.equal(c.core('c').status().leader, 'a');
    c.heal();
    c.tick('a');
    c.settle();
    assert.equal(c.core('b').status().leader, 'a', 'b follows a again once it hears it');
  });

  it('denies its vote to a candidate whose log is behind', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.isolate('c');
    c.propose('a', 'x=1');
    c.heal();
    // c missed x=1; b has it. Without pre-vote c would bump the term but must still lose.
    c.core('a').status();
    c.isolate('a');
    c.elect('c');
    assert.notEqual(c.core('c').status().role, 'leader');
    c.elect('b');
    assert.equal(c.core('b').status().role, 'leader');
  });

  it('pre-vote: a partitioned follower rejoining does not depose a healthy leader', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.isolate('c');
    // c times out again and again, but pre-vote keeps its term from climbing.
    for (let i = 0; i < 100; i++) c.tick('c');
    c.settle();
    assert.equal(c.core('c').status().term, 1);
    c.heal();
    c.tickAll(3);
    assert.equal(c.core('a').status().role, 'leader');
    assert.equal(c.core('a').status().term, 1);
    assert.equal(c.core('c').status().leader, 'a');
  });

  it('check-quorum: a follower hearing a live leader ignores vote requests', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { preVote: false } });
    c.elect('a');
    c.tickAll(1);
    c.cutLink('a', 'c');
    c.cutLink('c', 'a');
    c.elect('c'); // c bumps its term, but b still hears a and ignores it
    assert.equal(c.core('b').status().term, 1);
    assert.equal(c.core('b').status().leader, 'a');
    assert.notEqual(c.core('c').status().role, 'leader');
  });

  it('check-quorum: a leader that cannot hear a quorum steps down within an election timeout', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.isolate('a');
    for (let i = 0; i < 2 * 10 && c.core('a').status().role === 'leader'; i++) {
      c.tick('a');
      c.settle();
    }
    assert.equal(c.core('a').status().role, 'follower');
  });

  it('dueling candidates: split votes resolve to a single leader', () => {
    const c = new Cluster(['a', 'b', 'c', 'd'], { config: { preVote: false } });
    c.partition(['a', 'b'], ['c', 'd']);
    c.core('a').campaign();
    c.core('c').campaign();
    c.settle();
    c.heal();
    // With four voters, two candidates of the same term can each get at most two votes.
    assert.ok(['a', 'b', 'c', 'd'].every((id) => c.core(id).status().role !== 'leader'));
    c.tickAll(60);
    const leaders = ['a', 'b', 'c', 'd'].filter((id) => c.core(id).status().role === 'leader');
    assert.equal(leaders.length, 1);
  });

  it('a vote reply leaves only once the vote is durable; a crash before that loses the vote with the reply', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { preVote: false } });
    c.partition(['a', 'b'], ['c']);
    c.node('b').holdPersist = true;
    c.core('a').campaign();
    c.settle();
    assert.equal(c.core('a').status().role, 'candidate', "b's grant is held until its vote is durable");
    c.crash('b');
    c.restart('b');
    assert.equal(c.core('b').status().vote, '', 'the unsynced vote is gone, and a never counted it');
  });

  it('a crash right after granting a vote never grants a second vote in that term', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { preVote: false } });
    c.partition(['a', 'b'], ['c']);
    c.elect('a');
    assert.equal(c.core('a').status().role, 'leader');
    c.crash('b');
    c.restart('b');
    assert.equal(c.core('b').status().vote, 'a', 'the vote survives the crash');
    c.heal();
    c.partition(['b', 'c'], ['a']);
    // c campaigns in term 1, the term b already voted in: b must refuse.
    c.core('c').campaign();
    c.settle();
    assert.equal(c.core('c').status().term, 1);
    assert.notEqual(c.core('c').status().role, 'leader');
    assert.equal(c.core('b').status().vote, 'a');
  });
});
