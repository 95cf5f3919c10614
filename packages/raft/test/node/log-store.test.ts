import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RaftError } from '../../src/core/errors.js';
import type { Entry, Snapshot } from '../../src/core/types.js';
import { encodeEntry } from '../../src/node/codec.js';
import { LogStore } from '../../src/node/log-store.js';

function entry(index: number, term: number, text = `e${index}t${term}`): Entry {
  return { index, term, type: 'normal', data: new TextEncoder().encode(text) };
}

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term));
  return out;
}

function snapshot(index: number, term: number, bytes: number): Snapshot {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + index) % 251;
  return { meta: { index, term, conf: { voters: ['a', 'b', 'c'], learners: ['d'] } }, data };
}

describe('LogStore', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cairn-log-store-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function reopen(
    dir: string,
    chunkBytes = 1024,
  ): Promise<{ store: LogStore; state: Awaited<ReturnType<LogStore['load']>> }> {
    const store = await LogStore.open(dir, { snapshotChunkBytes: chunkBytes });
    const state = await store.load();
    return { store, state };
  }

  it('starts empty', async () => {
    const { store, state } = await reopen(join(root, 'empty'));
    try {
      assert.deepStrictEqual(state.hardState, { term: 0, vote: '', commit: 0 });
      assert.equal(state.snapshot, null);
      assert.deepStrictEqual(state.entries, []);
      assert.equal(state.members.size, 0);
      assert.equal(state.bootstrap, null);
    } finally {
      await store.close();
    }
  });

  it('recovers term, vote, commit, log, snapshot, members and bootstrap exactly after a restart', async () => {
    const dir = join(root, 'restart');
    let { store } = await reopen(dir);
    await store.saveBootstrap({ voters: ['a', 'b', 'c'], learners: [] });
    await store.save({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: entries(1, 5, 2), snapshot: null });
    // A 5000-byte snapshot over 1024-byte chunks spans five records.
    const snap = snapshot(4, 2, 5000);
    await store.compact(snap);
    await store.save({ hardState: { term: 3, vote: 'a', commit: 6 }, entries: entries(6, 8, 3), snapshot: null });
    await store.saveMembers(
      new Map([
        ['a', '127.0.0.1:1'],
        ['b', '127.0.0.1:2'],
      ]),
    );
    // A commit-only change is not synced (held back until the next write, here the close), but kept.
    assert.equal(
      await store.save({ hardState: { term: 3, vote: 'a', commit: 7 }, entries: [], snapshot: null }),
      false,
    );
    await store.close();

    const reopened = await reopen(dir);
    store = reopened.store;
    try {
      const { state } = reopened;
      assert.deepStrictEqual(state.hardState, { term: 3, vote: 'a', commit: 7 });
      assert.deepStrictEqual(state.snapshot, snap);
      assert.deepStrictEqual(state.entries, [...entries(5, 5, 2), ...entries(6, 8, 3)]);
      assert.deepStrictEqual(
        state.members,
        new Map([
          ['a', '127.0.0.1:1'],
          ['b', '127.0.0.1:2'],
        ]),
      );
      assert.deepStrictEqual(state.bootstrap, { voters: ['a', 'b', 'c'], learners: [] });
      assert.deepStrictEqual(store.bounds(), { firstIndex: 5, lastIndex: 8, snapshotIndex: 4 });
    } finally {
      await store.close();
    }
  });

  it('truncates a conflicting suffix when entries overwrite from a lower index', async () => {
    const dir = join(root, 'truncate');
    let { store } = await reopen(dir);
    await store.save({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: entries(1, 10, 1), snapshot: null });
    // A new leader in term 2 overwrites from index 4 with a shorter log: 8..10 must vanish too.
    await store.save({ hardState: { term: 2, vote: 'b', commit: 2 }, entries: entries(4, 6, 2), snapshot: null });
    await store.close();

    const reopened = await reopen(dir);
    store = reopened.store;
    try {
      assert.deepStrictEqual(reopened.state.entries, [...entries(1, 3, 1), ...entries(4, 6, 2)]);
      // Appending after the truncated log works and leaves it contiguous; a commit held back goes with it.
      assert.equal(
        await store.save({ hardState: { term: 2, vote: 'b', commit: 5 }, entries: [], snapshot: null }),
        false,
      );
      assert.equal(await store.save({ hardState: null, entries: entries(7, 7, 2), snapshot: null }), true);
      await store.close();
      const again = await reopen(dir);
      store = again.store;
      assert.deepStrictEqual(
        again.state.entries.map((e) => e.index),
        [1, 2, 3, 4, 5, 6, 7],
      );
      assert.deepStrictEqual(again.state.hardState, { term: 2, vote: 'b', commit: 5 });
    } finally {
      await store.close();
    }
  });

  it('drops the whole stored log under a received snapshot, even entries above it', async () => {
    const dir = join(root, 'install-inside');
    let { store } = await reopen(dir);
    await store.save({ hardState: { term: 1, vote: 'a', commit: 2 }, entries: entries(1, 8, 1), snapshot: null });
    // The core discards its log when a snapshot conflicts with it: entries 6..8 of term 1 must go.
    const installed = snapshot(5, 2, 10);
    await store.save({ hardState: { term: 2, vote: '', commit: 5 }, entries: [], snapshot: installed });
    await store.close();
    const reopened = await reopen(dir);
    store = reopened.store;
    try {
      assert.deepStrictEqual(reopened.state.snapshot, installed);
      assert.deepStrictEqual(reopened.state.entries, []);
      assert.deepStrictEqual(store.bounds(), { firstIndex: 6, lastIndex: 5, snapshotIndex: 5 });
    } finally {
      await store.close();
    }
  });

  it('drops the whole stored log under a received snapshot that is ahead of it, and shrinks chunks', async () => {
    const dir = join(root, 'install');
    let { store } = await reopen(dir);
    await store.save({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: entries(1, 5, 1), snapshot: null });
    await store.compact(snapshot(3, 1, 4000));
    const installed = snapshot(20, 4, 100);
    await store.save({
      hardState: { term: 4, vote: '', commit: 20 },
      entries: entries(21, 22, 4),
      snapshot: installed,
    });
    await store.close();

    const reopened = await reopen(dir);
    store = reopened.store;
    try {
      assert.deepStrictEqual(reopened.state.snapshot, installed);
      assert.deepStrictEqual(reopened.state.entries, entries(21, 22, 4));
      assert.deepStrictEqual(reopened.state.hardState, { term: 4, vote: '', commit: 20 });
    } finally {
      await store.close();
    }
  });

  it('refuses writes that would break the log: gaps, entries under the snapshot, older snapshots', async () => {
    const { store } = await reopen(join(root, 'invariants'));
    try {
      await store.save({ hardState: null, entries: entries(1, 3, 1), snapshot: null });
      await assert.rejects(store.save({ hardState: null, entries: entries(5, 6, 1), snapshot: null }), {
        code: 'INVARIANT',
      });
      await store.compact(snapshot(2, 1, 10));
      await assert.rejects(store.save({ hardState: null, entries: entries(2, 3, 2), snapshot: null }), {
        code: 'INVARIANT',
      });
      await assert.rejects(store.compact(snapshot(1, 1, 10)), { code: 'INVARIANT' });
      assert.deepStrictEqual(store.bounds(), { firstIndex: 3, lastIndex: 3, snapshotIndex: 2 });
    } finally {
      await store.close();
    }
  });

  it('fails a second open of the same directory with LOCKED, naming the directory', async () => {
    const dir = join(root, 'locked');
    const { store } = await reopen(dir);
    try {
      await assert.rejects(LogStore.open(dir), (err: unknown) => {
        assert.ok(err instanceof RaftError);
        assert.equal(err.code, 'LOCKED');
        assert.match(err.message, new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
        return true;
      });
    } finally {
      await store.close();
    }
    // Once closed, the directory opens again.
    const again = await LogStore.open(dir);
    await again.close();
  });

  it('reads a log written one record per entry (the layout before blocks), and carries on in blocks', async () => {
    const dir = join(root, 'one-entry-records');
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    for (const e of entries(1, 3, 1)) {
      const key = new Uint8Array(9);
      key[0] = 0x10;
      new DataView(key.buffer).setUint32(5, e.index);
      await db.put(key, encodeEntry(e));
    }
    await db.close();
    let { store, state } = await reopen(dir);
    try {
      assert.deepStrictEqual(state.entries, entries(1, 3, 1));
      await store.save({ hardState: { term: 1, vote: 'a', commit: 3 }, entries: entries(4, 6, 1), snapshot: null });
      // A new leader overwrites from 3: the old record of 3 and the block 4..6 both go.
      await store.save({ hardState: { term: 2, vote: 'b', commit: 3 }, entries: entries(3, 4, 2), snapshot: null });
      await store.close();
      ({ store, state } = await reopen(dir));
      assert.deepStrictEqual(state.entries, [...entries(1, 2, 1), ...entries(3, 4, 2)]);
      await store.compact(snapshot(3, 2, 10));
      await store.close();
      ({ store, state } = await reopen(dir));
      assert.deepStrictEqual(state.entries, entries(4, 4, 2));
      assert.deepStrictEqual(store.bounds(), { firstIndex: 4, lastIndex: 4, snapshotIndex: 3 });
    } finally {
      await store.close();
    }
  });

  it('keeps the entries of a block that straddles the snapshot, and cuts a block short on a conflict', async () => {
    const dir = join(root, 'blocks');
    let { store, state } = await reopen(dir);
    try {
      await store.save({ hardState: { term: 1, vote: 'a', commit: 8 }, entries: entries(1, 8, 1), snapshot: null });
      await store.compact(snapshot(5, 1, 10));
      await store.save({ hardState: { term: 2, vote: 'b', commit: 5 }, entries: entries(7, 9, 2), snapshot: null });
      await store.close();
      ({ store, state } = await reopen(dir));
      assert.deepStrictEqual(state.entries, [...entries(6, 6, 1), ...entries(7, 9, 2)]);
      await store.compact(snapshot(8, 2, 10));
      await store.save({ hardState: null, entries: entries(10, 10, 2), snapshot: null });
      await store.close();
      ({ store, state } = await reopen(dir));
      assert.deepStrictEqual(state.entries, entries(9, 10, 2));
    } finally {
      await store.close();
    }
  });

  it('reports a corrupt record as STORAGE instead of loading junk', async () => {
    const dir = join(root, 'corrupt');
    const { store } = await reopen(dir);
    await store.save({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 2, 1), snapshot: null });
    await store.close();
    // Corrupt the hard state record behind the store's back.
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' });
    await db.put(Uint8Array.of(0x01), Uint8Array.of(1, 0xff));
    await db.close();
    const broken = await LogStore.open(dir);
    try {
      await assert.rejects(broken.load(), { code: 'STORAGE' });
    } finally {
      await broken.close();
    }
  });
});
