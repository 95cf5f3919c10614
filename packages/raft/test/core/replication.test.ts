// Log replication: how logs converge, what commits, and what never does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Entry } from '../../src/core/index.js';
import { Cluster, type Disk, data } from './cluster.js';

/** Founders of a three-node cluster start with three committed configuration entries. */
const BOOT = 3;

function logOfTerms(terms: number[], payload = 'x'): Entry[] {
  return terms.map((term, i) => ({ term, index: i + 1, type: 'normal', data: data(`${payload}${i + 1}`) }));
}

function disk(term: number, terms: number[], commit = 0): Disk {
  return { hardState: { term, vote: '', commit }, entries: logOfTerms(terms), snapshot: null };
}

describe('log replication', () => {
  it('replicates proposals to every follower and applies them in order', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'one');
    c.propose('a', 'two');
    c.tickAll(2);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(c.commands(id), ['one', 'two']);
  });

  it('a follower forwards proposals to the leader and learns where they landed', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    const r = c.core('b').propose(data('from-b'));
    assert.equal(r.kind, 'forwarded');
    c.settle();
    c.tickAll(2);
    assert.deepEqual(c.commands('a'), ['from-b']);
    assert.deepEqual(c.commands('b'), ['from-b']);
    assert.ok(r.kind === 'forwarded');
    assert.deepEqual(c.node('b').proposalAcks, [{ reqId: r.reqId, index: BOOT + 2, term: 1 }]);
  });

  it('Figure 7: a new leader brings missing, extra and conflicting follower logs to its own', () => {
    const c = new Cluster(['L', 'a', 'b', 'c', 'd', 'e', 'f']);
    c.start('L', disk(7, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6]));
    c.start('a', disk(7, [1, 1, 1, 4, 4, 5, 5, 6, 6]));
    c.start('b', disk(7, [1, 1, 1, 4]));
    c.start('c', disk(7, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6]));
    c.start('d', disk(7, [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7]));
    c.start('e', disk(7, [1, 1, 1, 4, 4, 4, 4]));
    c.start('f', disk(7, [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]));
    c.elect('L');
    assert.equal(c.core('L').status().role, 'leader');
    assert.equal(c.core('L').status().term, 8);
    c.tickAll(5);
    const want = c.logOf('L');
    assert.equal(want.length, 11, 'ten inherited entries and the empty entry of term 8');
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) assert.deepEqual(c.logOf(id), want, `log of ${id}`);
    assert.equal(c.core('f').status().commit, 11);
  });

  it('Figure 8: a leader never commits an entry of an earlier term by counting replicas', () => {
    const run = (commitPreviousTerm: boolean) => {
      const c = new Cluster(['s1', 's2', 's3', 's4', 's5'], {
        config: { maxMsgBytes: 1, preVote: false, checkQuorum: false },
        ...(commitPreviousTerm ? { plantedBugs: { commitPreviousTerm } } : {}),
      });
      // (b)->(c): s1 (term 2 entry at index 2, also on s2) and s5 (term 3 entry at index 2).
      c.start('s1', disk(3, [1, 2], 1));
      c.start('s2', disk(3, [1, 2], 1));
      c.start('s3', disk(3, [1], 1));
      c.start('s4', disk(3, [1], 1));
      c.start('s5', disk(3, [1, 3], 1));
      c.crash('s5');
      c.cutLink('s1', 's2');
      // s1 wins term 4 with s3 and s4; its term-4 entry (index 3) must not get out yet.
      c.intercept = (m) =>
        m.type === 'append' && m.entries.some((e) => e.index === 3)
          ? { ...m, entries: m.entries.filter((e) => e.index < 3) }
          : m;
      c.elect('s1');
      assert.equal(c.core('s1').status().term, 4);
      assert.equal(c.core('s3').entryAt(2)?.term, 2, 'the term-2 entry now sits on s1, s3 and s4 (and s2)');
      const committed = c.core('s1').status().commit;
      // (d): s1 crashes; s5, whose index 2 is of term 3, can still win term 5 with s2, s3 and s4.
      c.crash('s1');
      c.restart('s5');
      c.heal();
      c.intercept = (m) => (m.type === 'append' ? null : m);
      c.elect('s5'); // term 4 is taken: everyone voted for s1
      c.elect('s5');
      assert.equal(c.core('s5').status().role, 'leader');
      assert.equal(c.core('s5').status().term, 5);
      c.intercept = null;
      return { c, committed };
    };
    const safe = run(false);
    assert.equal(safe.committed, 1, 'index 2 is on a majority but of term 2: not committed');
    safe.c.tickAll(3);
    assert.equal(safe.c.core('s3').entryAt(2)?.term, 3, 'so overwriting it is safe');
    assert.equal(safe.c.core('s3').status().commit, 3);

    const buggy = run(true);
    assert.equal(buggy.committed, 2, 'with the planted bug s1 commits index 2, yet a node without it now leads');
  });

  it('a leader isolated in a minority accepts proposals that never commit and are truncated on heal', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { checkQuorum: false, preVote: false } });
    c.elect('a');
    c.propose('a', 'kept-1');
    c.isolate('a');
    c.propose('a', 'lost-1');
    c.propose('a', 'lost-2');
    assert.equal(c.core('a').status().commit, BOOT + 2);
    c.elect('b');
    c.propose('b', 'kept-2');
    c.heal();
    c.tickAll(3);
    assert.equal(c.core('a').status().role, 'follower');
    assert.deepEqual(c.logOf('a'), c.logOf('b'));
    for (const id of ['a', 'b', 'c']) assert.deepEqual(c.commands(id), ['kept-1', 'kept-2']);
  });

  it('a follower crash loses an unsynced log tail; the leader fills it in again', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'one');
    c.node('c').holdPersist = true;
    c.propose('a', 'two');
    c.propose('a', 'three');
    assert.equal(c.core('a').status().commit, BOOT + 4, 'a and b are a majority');
    c.crash('c');
    assert.equal(c.node('c').disk.entries.length, BOOT + 2, 'only the synced prefix survived');
    c.restart('c');
    c.tickAll(3);
    assert.deepEqual(c.commands('c'), ['one', 'two', 'three']);
  });

  it('a leader crash loses its unsynced tail but never an entry a majority committed', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.node('a').holdPersist = true;
    c.propose('a', 'written-by-followers');
    // The leader sent its appends before its own fsync; b and c made the entry durable.
    assert.equal(c.node('b').disk.entries.length, BOOT + 2);
    c.crash('a');
    assert.equal(c.node('a').disk.entries.length, BOOT + 1);
    c.tickAll(30);
    const lead = c.leader()!;
    assert.notEqual(lead, 'a');
    c.restart('a');
    c.tickAll(3);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(c.commands(id), ['written-by-followers']);
  });

  it('reordered, duplicated and stale responses leave progress and commit consistent', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { preVote: false, checkQuorum: false } });
    c.elect('a');
    c.core('a').propose(data('p1'));
    c.core('a').propose(data('p2'));
    // Run everything once, but keep the responses to replay them shuffled and duplicated.
    const seen: import('../../src/core/index.js').Message[] = [];
    c.intercept = (m) => {
      if (m.type === 'appendResp') seen.push(m);
      return m;
    };
    c.settle();
    c.intercept = null;
    const commit = c.core('a').status().commit;
    for (const m of [...seen].reverse()) c.deliver(m);
    for (const m of seen) c.deliver(m);
    c.settle();
    assert.equal(c.core('a').status().commit, commit);
    // A stale response from an old term is ignored.
    c.elect('b');
    for (const m of seen) c.deliver({ ...m, to: 'b' });
    c.settle();
    assert.equal(c.core('b').status().role, 'leader');
    c.tickAll(3);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(c.commands(id), ['p1', 'p2']);
  });

  it('proposals while quorum is lost stay bounded', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { checkQuorum: false, maxUncommittedBytes: 1000 } });
    c.elect('a');
    c.isolate('a');
    let accepted = 0;
    let dropped = 0;
    for (let i = 0; i < 100; i++) {
      try {
        c.core('a').propose(new Uint8Array(100));
        accepted++;
      } catch (err) {
        assert.equal((err as { code: string }).code, 'PROPOSAL_DROPPED');
        dropped++;
      }
    }
    c.settle();
    assert.ok(accepted <= 10, `accepted ${accepted}`);
    assert.equal(accepted + dropped, 100);
    c.heal();
    c.tickAll(3);
    // Once the quorum is back, the bound frees up as entries commit.
    c.core('a').propose(new Uint8Array(100));
  });
});
