// Snapshots: compaction, catching up a follower that fell behind it, and conflicts with its log.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cluster, data, text } from './cluster.js';

/** Compacts `id` at its applied index with its applied commands as the "state machine". */
function compact(c: Cluster, id: string): number {
  const applied = c.core(id).status().applied;
  c.core(id).compact(applied, data(JSON.stringify(c.commands(id))));
  return applied;
}

describe('snapshots', () => {
  it('a follower behind the compaction point catches up by a chunked snapshot, heartbeats flowing meanwhile', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { snapshotChunkBytes: 8 } });
    c.elect('a');
    c.isolate('c');
    for (let i = 1; i <= 10; i++) c.propose('a', `cmd-${i}`);
    const at = compact(c, 'a');
    assert.equal(c.core('a').status().firstIndex, at + 1);
    c.propose('a', 'after-snapshot');
    c.heal();
    // While the transfer runs, the leader keeps sending c heartbeats, one chunk per round trip.
    const kinds: string[] = [];
    c.intercept = (m) => {
      if (m.to === 'c') kinds.push(m.type);
      return m;
    };
    c.tickAll(5);
    c.intercept = null;
    assert.ok(kinds.filter((k) => k === 'snapshot').length > 3, 'the snapshot went in several chunks');
    assert.ok(kinds.includes('heartbeat'));
    const restored = c.node('c').restoredFrom;
    assert.ok(restored);
    assert.equal(restored.meta.index, at);
    assert.deepEqual(JSON.parse(text(restored)), c.commands('a').slice(0, 10));
    assert.equal(c.core('c').status().commit, c.core('a').status().commit);
    assert.deepEqual(c.commands('c'), ['after-snapshot'], 'entries after the snapshot are applied normally');
  });

  it('a lost chunk is resent after a heartbeat without progress', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { snapshotChunkBytes: 4 } });
    c.elect('a');
    c.isolate('c');
    for (let i = 1; i <= 5; i++) c.propose('a', `v${i}`);
    compact(c, 'a');
    c.heal();
    let dropped = 0;
    c.intercept = (m) => (m.type === 'snapshot' && m.offset === 8 && dropped++ === 0 ? null : m);
    c.tickAll(6);
    assert.equal(dropped, 2, 'the chunk at offset 8 was dropped once, then resent');
    assert.equal(c.core('c').status().commit, c.core('a').status().commit);
  });

  it('a snapshot that conflicts with the follower log replaces the whole log', () => {
    const c = new Cluster(['a', 'b', 'c'], { config: { checkQuorum: false, preVote: false } });
    c.elect('c');
    c.propose('c', 'base');
    // c, leading alone, appends entries that will never commit.
    c.isolate('c');
    c.propose('c', 'doomed-1');
    c.propose('c', 'doomed-2');
    c.elect('a');
    for (let i = 1; i <= 6; i++) c.propose('a', `a-${i}`);
    const at = compact(c, 'a');
    c.heal();
    c.tickAll(5);
    assert.equal(c.core('c').status().role, 'follower');
    assert.equal(c.node('c').restoredFrom?.meta.index, at);
    assert.equal(c.core('c').status().firstIndex, at + 1);
    assert.ok(!c.commands('c').some((s) => s.startsWith('doomed')));
    assert.deepEqual(c.node('c').disk.snapshot?.meta.index, at);
  });

  it('a snapshot whose last entry the follower already holds keeps the follower log after it', () => {
    const c = new Cluster(['a', 'b', 'c']);
    c.elect('a');
    c.propose('a', 'one');
    c.propose('a', 'two');
    // The leader compacts and its snapshot lands on c even though c has every entry.
    const at = compact(c, 'a');
    const snap = c.core('a').latestSnapshot()!;
    const before = c.logOf('c');
    c.core('c').step({
      type: 'snapshot',
      from: 'a',
      to: 'c',
      term: c.core('a').status().term,
      meta: { ...snap.meta, index: at - 1, term: c.core('c').entryAt(at - 1)!.term },
      offset: 0,
      totalBytes: snap.data.length,
      chunk: snap.data,
    });
    c.settle();
    assert.deepEqual(c.logOf('c'), before);
    assert.equal(c.node('c').restoredFrom, null);
  });
});
