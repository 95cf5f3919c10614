import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RaftError } from '../../src/core/errors.js';
import { createRaftNode, type LogStore, type RaftNode } from '../../src/node/index.js';
import { Cluster, command, ELECTION_TIMEOUT_MAX_MS, KvMachine, SECRET } from './cluster.js';
import { captureLogger, sleep, tempDir, waitFor } from './helpers.js';

function followerOf(cluster: Cluster, leader: RaftNode): RaftNode {
  return cluster.running().find((n) => n !== leader)!;
}

/** Proposes, retrying while leadership settles (NO_LEADER and friends are expected then). */
async function proposeEventually(
  node: () => RaftNode,
  key: string,
  value: string,
): Promise<{ index: number; result: unknown }> {
  const deadline = performance.now() + 5_000;
  for (;;) {
    try {
      return await node().propose(command(key, value), { timeoutMs: 1_000 });
    } catch (err) {
      if (performance.now() > deadline) throw err;
      await sleep(20);
    }
  }
}

describe('RaftNode', { timeout: 60_000 }, () => {
  let cluster: Cluster | null = null;
  afterEach(async () => {
    await cluster?.close();
    cluster = null;
  });

  it(
    'elects one leader and replicates proposals made on the leader and on followers',
    {
      timeout: 15_000,
    },
    async () => {
      cluster = await Cluster.start(3);
      const leader = await cluster.leader();
      const follower = followerOf(cluster, leader);
      const outcomes = await Promise.all([
        ...Array.from({ length: 20 }, (_, i) => leader.propose(command(`l${i}`, `${i}`))),
        ...Array.from({ length: 20 }, (_, i) => follower.propose(command(`f${i}`, `${i}`))),
      ]);
      for (const o of outcomes) assert.match(String(o.result), new RegExp(`@${o.index}$`));
      assert.equal(new Set(outcomes.map((o) => o.index)).size, 40, 'every proposal has its own index');
      await cluster.waitConverged(['n1', 'n2', 'n3']);
      assert.equal(cluster.machine('n1').data.size, 40);
      assert.equal(cluster.running().filter((n) => n.isLeader).length, 1);

      const read = await follower.readIndex();
      assert.ok(read >= Math.max(...outcomes.map((o) => o.index)), 'the read index covers acknowledged writes');
      const status = follower.status();
      assert.ok(status.transport.framesReceived > 0 && status.transport.framesSent > 0);
      assert.ok(status.storage.syncedWrites > 0 && status.storage.entriesWritten >= 40, 'durable writes are counted');
      assert.ok(status.storage.syncMsMax >= status.storage.lastSyncMs && status.storage.syncMsTotal > 0);
      assert.deepStrictEqual(status.conf.voters, ['n1', 'n2', 'n3']);
    },
  );

  it(
    'recovers every state machine after a restart of all nodes, from snapshot plus log',
    {
      timeout: 15_000,
    },
    async () => {
      cluster = await Cluster.start(3, { snapshotEntries: 15 });
      const leader = await cluster.leader();
      for (let i = 0; i < 40; i++) await leader.propose(command(`k${i}`, `v${i}`));
      await cluster.waitConverged(['n1', 'n2', 'n3']);
      const before = [...cluster.machine('n1').data].sort();
      const appliedBefore = cluster.node('n1').appliedIndex;
      assert.ok(cluster.node('n1').status().snapshotIndex > 0, 'a snapshot was taken');

      for (const id of ['n1', 'n2', 'n3']) await cluster.stop(id);
      for (const id of ['n1', 'n2', 'n3']) await cluster.startNode(id);
      await cluster.leader();
      await cluster.waitConverged(['n1', 'n2', 'n3']);
      for (const id of ['n1', 'n2', 'n3']) {
        const m = cluster.machine(id);
        assert.deepStrictEqual([...m.data].sort(), before, `${id} recovered its state`);
        assert.ok(m.restores.length === 1 && m.restores[0]! > 0, `${id} restored its snapshot`);
        assert.ok(m.applyCount > 0, `${id} replayed entries after the snapshot`);
        assert.ok(cluster.node(id).appliedIndex >= appliedBefore);
      }
      assert.ok(cluster.node('n1').status().term >= 2, 'the term survived the restart and advanced');
    },
  );

  it('catches up a follower that was down past several snapshots by InstallSnapshot', { timeout: 15_000 }, async () => {
    // Small chunks, so the snapshot crosses the wire in several InstallSnapshot messages.
    cluster = await Cluster.start(3, { snapshotEntries: 10, raft: { snapshotChunkBytes: 128 } });
    let leader = await cluster.leader();
    const down = followerOf(cluster, leader).id;
    await cluster.stop(down);
    leader = await cluster.leader();
    for (let i = 0; i < 60; i++) await leader.propose(command(`k${i}`, `v${i}`));
    const leaderSnapshot = leader.status().snapshotIndex;
    assert.ok(leaderSnapshot >= 50, `the leader compacted past the follower (snapshot at ${leaderSnapshot})`);

    await cluster.startNode(down);
    const ids = ['n1', 'n2', 'n3'];
    await cluster.waitConverged(ids, 10_000);
    const restores = cluster.machine(down).restores;
    assert.ok(
      restores.some((index) => index >= leaderSnapshot),
      `${down} installed the leader's snapshot (restores at ${restores})`,
    );
    assert.equal(cluster.machine(down).data.get('k59'), 'v59');
    const snapshotBytes = cluster.machine(down).snapshot().byteLength;
    assert.ok(snapshotBytes > 4 * 128, `the snapshot (${snapshotBytes} bytes) took several chunks`);
  });

  it(
    'elects a new leader after the leader closes and loses no acknowledged proposal',
    {
      timeout: 15_000,
    },
    async () => {
      cluster = await Cluster.start(3);
      const c = cluster;
      const first = await c.leader();
      const acknowledged: string[] = [];
      let stop = false;
      const writers = ['a', 'b'].map(async (w) => {
        for (let i = 0; !stop; i++) {
          const key = `${w}${i}`;
          const target = c.running().find((n) => n.isLeader) ?? c.running()[0];
          if (!target) return;
          try {
            await target.propose(command(key, 'x'), { timeoutMs: 1_000 });
            acknowledged.push(key);
          } catch {
            await sleep(10);
          }
        }
      });
      await waitFor('some writes before the failure', () => acknowledged.length >= 20);
      const closedAtMs = performance.now();
      await c.stop(first.id);
      const survivors = c.running();
      const second = await c.leader(5 * ELECTION_TIMEOUT_MAX_MS, survivors);
      const electedInMs = performance.now() - closedAtMs;
      assert.notEqual(second.id, first.id);
      assert.ok(electedInMs < 5 * ELECTION_TIMEOUT_MAX_MS, `new leader after ${Math.round(electedInMs)} ms`);
      const countAtFailover = acknowledged.length;
      await waitFor('writes under the new leader', () => acknowledged.length >= countAtFailover + 10);
      stop = true;
      await Promise.all(writers);

      await second.readIndex();
      await c.waitConverged(survivors.map((n) => n.id));
      for (const n of survivors) {
        const data = c.machine(n.id).data;
        const lost = acknowledged.filter((k) => !data.has(k));
        assert.deepStrictEqual(lost, [], `${n.id} has every acknowledged write`);
      }
    },
  );

  it('refuses a second open of a data directory with LOCKED', { timeout: 15_000 }, async () => {
    cluster = await Cluster.start(1);
    const member = cluster.members.get('n1')!;
    await assert.rejects(
      createRaftNode({
        id: 'n1',
        peers: { n1: member.address },
        dataDir: member.dataDir,
        clusterSecret: SECRET,
        stateMachine: new KvMachine(),
        logger: captureLogger('silent').logger,
      }),
      (err: unknown) => err instanceof RaftError && err.code === 'LOCKED' && err.message.includes(member.dataDir),
    );
    // The running node is unaffected.
    const leader = await cluster.leader();
    const outcome = await leader.propose(command('still', 'works'));
    assert.equal(outcome.result, `still@${outcome.index}`);
  });

  it('adds a joining node as a learner, then promotes it to voter', { timeout: 15_000 }, async () => {
    cluster = await Cluster.start(3);
    const c = cluster;
    let leader = await c.leader();
    for (let i = 0; i < 10; i++) await leader.propose(command(`k${i}`, `v${i}`));
    const n4 = await c.listen('n4', true);
    await c.startNode('n4');
    assert.deepStrictEqual(c.node('n4').status().conf, { voters: [], learners: [] });

    await leader.addMember('n4', n4.address, { learner: true });
    await c.waitConverged(['n1', 'n2', 'n3', 'n4']);
    assert.deepStrictEqual(c.node('n4').status().conf, { voters: ['n1', 'n2', 'n3'], learners: ['n4'] });
    assert.equal(c.node('n4').isLeader, false);

    const deadline = performance.now() + 5_000;
    for (;;) {
      try {
        leader = await c.leader();
        await leader.promoteMember('n4');
        break;
      } catch (err) {
        if (!(err instanceof RaftError) || err.code !== 'LEARNER_BEHIND' || performance.now() > deadline) throw err;
        await sleep(20);
      }
    }
    await waitFor('n4 to see itself a voter', () => c.node('n4').status().conf.voters.includes('n4'));
    await proposeEventually(() => c.node('n4'), 'from-n4', 'yes');
    await c.waitConverged(['n1', 'n2', 'n3', 'n4']);
    for (const id of ['n1', 'n2', 'n3', 'n4']) {
      assert.deepStrictEqual(c.node(id).status().conf, { voters: ['n1', 'n2', 'n3', 'n4'], learners: [] });
      assert.equal(c.machine(id).data.get('from-n4'), 'yes');
    }
    // n4 learned every address (from the snapshot it installed): it can reach all peers itself.
    assert.deepStrictEqual(Object.keys(c.node('n4').status().members).sort(), ['n1', 'n2', 'n3', 'n4']);
  });

  it(
    'removes the leader: it steps down and the rest elect a leader among themselves',
    {
      timeout: 15_000,
    },
    async () => {
      cluster = await Cluster.start(3);
      const c = cluster;
      const leader = await c.leader();
      await leader.propose(command('before', '1'));
      const removed = new Promise<void>((resolve) => leader.once('removed', resolve));
      await leader.removeMember(leader.id);
      await removed;
      const rest = c.running().filter((n) => n !== leader);
      const next = await c.leader(5 * ELECTION_TIMEOUT_MAX_MS, rest);
      assert.notEqual(next.id, leader.id);
      assert.equal(leader.isLeader, false);
      await next.propose(command('after', '2'));
      await c.waitConverged(rest.map((n) => n.id));
      for (const n of rest)
        assert.deepStrictEqual(
          n.status().conf.voters,
          ['n1', 'n2', 'n3'].filter((id) => id !== leader.id),
        );
      await sleep(3 * ELECTION_TIMEOUT_MAX_MS);
      assert.equal(leader.isLeader, false, 'the removed node never campaigns back');
      assert.equal(next.isLeader, true, 'the removed node does not disturb the new leader');
    },
  );

  it('transfers leadership on request', { timeout: 15_000 }, async () => {
    cluster = await Cluster.start(3);
    const leader = await cluster.leader();
    const target = followerOf(cluster, leader);
    await leader.propose(command('k', 'v'));
    await leader.transferLeadership(target.id);
    const next = await cluster.leader();
    assert.equal(next.id, target.id);
    await assert.rejects(leader.transferLeadership(leader.id), { code: 'NOT_LEADER' });
  });

  it(
    'is fatal when the state machine throws: pending work rejects and the node closes',
    {
      timeout: 15_000,
    },
    async () => {
      cluster = await Cluster.start(1);
      const node = await cluster.leader();
      const fatal = new Promise<Error>((resolve) => node.once('fatal', resolve));
      await assert.rejects(node.propose(command('poison', 'x')));
      assert.match((await fatal).message, /poisoned/);
      await assert.rejects(node.propose(command('k', 'v')), { code: 'CLOSED' });
    },
  );

  it(
    'is fatal when storage fails: the write is not half-applied, pending work rejects, the node closes',
    {
      timeout: 15_000,
    },
    async () => {
      cluster = await Cluster.start(1);
      const node = await cluster.leader();
      await node.propose(command('k', 'before'));
      const store = (node as unknown as { store: LogStore }).store;
      store.save = () => Promise.reject(new RaftError('STORAGE', 'raft storage: disk on fire'));
      const fatal = new Promise<Error>((resolve) => node.once('fatal', resolve));
      await assert.rejects(node.propose(command('k', 'after')), { code: 'STORAGE' });
      assert.match((await fatal).message, /disk on fire/);
      assert.equal(cluster.machine('n1').data.get('k'), 'before', 'nothing past the failed write was applied');
      await assert.rejects(node.readIndex(), { code: 'CLOSED' });
    },
  );

  it('keeps applying while the state machine serializes a snapshot, then compacts at the captured index', async () => {
    const { dir, cleanup } = await tempDir('raft-snapshot-async');
    /** Captures its state when asked, hands the bytes over only when the test opens the gate. */
    class GatedMachine extends KvMachine {
      captured: number[] = [];
      gate: (() => void) | null = null;
      override snapshot(): Uint8Array {
        throw new Error('unused');
      }
      serialize(): Promise<Uint8Array> {
        const bytes = super.snapshot();
        this.captured.push(this.lastApplied);
        return new Promise((resolve) => {
          this.gate = () => resolve(bytes);
        });
      }
    }
    const options = (machine: GatedMachine) => ({
      id: 'n1',
      peers: { n1: '127.0.0.1:1' },
      dataDir: dir,
      clusterSecret: SECRET,
      stateMachine: {
        ...machine,
        apply: machine.apply.bind(machine),
        restore: machine.restore.bind(machine),
        snapshot: () => machine.serialize(),
      },
      snapshotEntries: 5,
      tickMs: 10,
      logger: captureLogger('silent').logger,
    });
    let machine = new GatedMachine();
    let node = await createRaftNode(options(machine));
    try {
      await waitFor('leadership', () => node.isLeader);
      const persisted: string[] = [];
      node.on('persisted', (e) => persisted.push(`${e.kind}:${e.synced}`));
      await node.propose(command('k0', 'v0'));
      assert.ok(persisted.includes('ready:true'), 'the proposal was persisted with an fsync, and said so');
      await waitFor('a snapshot to start', () => machine.captured.length === 1);
      const at = machine.captured[0]!;
      for (let i = 1; i <= 20; i++) await node.propose(command(`k${i}`, `v${i}`));
      assert.equal(machine.data.size, 21, 'entries applied while the snapshot was pending');
      assert.equal(node.status().snapshotIndex, 0, 'nothing compacted before the bytes arrived');
      machine.gate?.();
      await waitFor('compaction at the captured index', () => node.status().snapshotIndex === at);
      assert.ok(node.appliedIndex > at);
      await waitFor('the next snapshot to start', () => machine.captured.length === 2);
      const second = machine.captured[1]!;
      machine.gate?.();
      await waitFor('the second compaction', () => node.status().snapshotIndex === second);
      await node.close();

      machine = new GatedMachine();
      node = await createRaftNode(options(machine));
      await waitFor('replay after the restart', () => machine.data.size === 21);
      assert.deepEqual(machine.restores, [second], 'restored from the second snapshot, then replayed the rest');
      assert.equal(machine.data.get('k20'), 'v20');
    } finally {
      machine.gate?.();
      await node.close();
      await cleanup();
    }
  });

  it('validates its options', async () => {
    const { dir, cleanup } = await tempDir('raft-options');
    try {
      const base = {
        id: 'n1',
        peers: { n1: '127.0.0.1:1' },
        dataDir: dir,
        clusterSecret: SECRET,
        stateMachine: new KvMachine(),
        logger: captureLogger('silent').logger,
      };
      await assert.rejects(createRaftNode({ ...base, raft: { plantedBugs: { voteBeforePersist: true } } }), /planted/);
      await assert.rejects(createRaftNode({ ...base, id: 'bad|id' }), TypeError);
      await assert.rejects(createRaftNode({ ...base, peers: { n2: '127.0.0.1:2' } }), /must include this node/);
      await assert.rejects(createRaftNode({ ...base, peers: { n1: 'no-port' } }), /host:port/);
      await assert.rejects(createRaftNode({ ...base, clusterSecret: 'short' }), /at least 16 bytes/);
      await assert.rejects(createRaftNode({ ...base, heartbeatTicks: 10, electionTicks: 10 }), /heartbeatTicks/);
    } finally {
      await cleanup();
    }
  });
});
