// Only members are heard: at the handshake, on every frame, and after a member is removed.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import type { Message, NodeId } from '../../src/core/types.js';
import { encodeFrame } from '../../src/node/codec.js';
import { signUpgrade } from '../../src/node/peer-auth.js';
import { PeerTransport } from '../../src/node/peer-transport.js';
import { SECRET as CLUSTER_SECRET, Cluster, command } from './cluster.js';
import { captureLogger, loopbackServer, sleep, waitFor } from './helpers.js';

const SECRET = 'membership-test-secret-0123456789';
const secretBytes = (s: string) => new TextEncoder().encode(s);

function heartbeat(from: NodeId, to: NodeId, commit: number): Message {
  return { type: 'heartbeat', from, to, term: 1, commit, readSeq: 0 };
}

/** The HTTP status a peer handshake with these headers gets (101 when it is accepted). */
function handshakeStatus(address: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${address}/raft/peer`, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => {});
  });
}

describe('peer membership', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  /** Node b, whose members are the ids in `members` (mutable by the test). */
  async function startB(members: Set<NodeId>) {
    const { server, address, close } = await loopbackServer();
    const { logger, lines } = captureLogger('info');
    const received: { from: NodeId; messages: Message[] }[] = [];
    const transport = new PeerTransport({
      id: 'b',
      clusterSecret: SECRET,
      isMember: (id) => members.has(id),
      onMessages: (from, messages) => received.push({ from, messages }),
      maxFrameBytes: 64 * 1024,
      reconnectMaxMs: 100,
      logger,
    });
    transport.attach(server);
    cleanups.push(async () => {
      transport.close();
      await close();
    });
    return { transport, address, received, lines };
  }

  /** A hand-driven peer socket that authenticates as `from`. */
  async function dialAs(address: string, from: NodeId): Promise<{ ws: WebSocket; closed: Promise<number> }> {
    const ws = new WebSocket(`ws://${address}/raft/peer`, { headers: signUpgrade(secretBytes(SECRET), from, 'b', '') });
    cleanups.push(() => ws.terminate());
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    return { ws, closed };
  }

  it('refuses the handshake of a node that is not a member', async () => {
    const b = await startB(new Set(['a']));
    assert.equal(await handshakeStatus(b.address, signUpgrade(secretBytes(SECRET), 'stranger', 'b', '')), 403);
    assert.equal(b.transport.stats().upgradesRefused, 1);
    assert.equal(b.received.length, 0);
  });

  it('drops the frames of a peer removed after it linked, and closes its socket', async () => {
    const members = new Set<NodeId>(['a']);
    const b = await startB(members);
    const a = await dialAs(b.address, 'a');
    a.ws.send(encodeFrame([heartbeat('a', 'b', 1)]));
    await waitFor('the member is heard', () => b.received.length === 1);

    // The membership changes; nobody told the transport yet. The next frame is refused on arrival.
    members.delete('a');
    a.ws.send(encodeFrame([heartbeat('a', 'b', 2)]));
    assert.equal(await a.closed, 1008);
    await sleep(20);
    assert.equal(b.received.length, 1, 'nothing from the removed peer reaches the node');
    assert.equal(b.transport.stats().framesDropped, 1);
    assert.ok(b.lines.some((l) => l['msg'] === 'raft peer link closed' && l['peer'] === 'a'));

    // Nor can it link again.
    assert.equal(await handshakeStatus(b.address, signUpgrade(secretBytes(SECRET), 'a', 'b', '')), 403);
  });

  it('closes the idle sockets of peers that left the membership when told it changed', async () => {
    const members = new Set<NodeId>(['a', 'c']);
    const b = await startB(members);
    const a = await dialAs(b.address, 'a');
    const c = await dialAs(b.address, 'c');
    members.delete('a');
    b.transport.closeNonMembers();
    assert.equal(await a.closed, 1008);
    // The member that stays keeps its link and is heard.
    c.ws.send(encodeFrame([heartbeat('c', 'b', 1)]));
    await waitFor('the remaining member is heard', () => b.received.length === 1);
    assert.equal(c.ws.readyState, WebSocket.OPEN);
  });

  it('stops hearing a removed node in a running cluster', { timeout: 20_000 }, async () => {
    const cluster = await Cluster.start(3);
    cleanups.push(() => cluster.close());
    let leader = await cluster.leader();
    if (leader.id === 'n3') {
      await leader.transferLeadership('n1');
      leader = await cluster.leader();
    }
    await leader.propose(command('k', 'v1'));
    await leader.removeMember('n3');
    const stayers = [cluster.node('n1'), cluster.node('n2')];
    await waitFor('n3 gone from every remaining member', () =>
      stayers.every((n) => n.status().members['n3'] === undefined && n.status().transport.peers['n3'] === undefined),
    );
    const refusedBefore = stayers.map((n) => n.status().transport.upgradesRefused);
    const term = leader.status().term;

    // n3 still runs. Whatever it tries (campaigning, redialing) is refused and changes nothing.
    await sleep(600);
    await leader.propose(command('k', 'v2'));
    assert.equal(leader.status().term, term, 'the removed node disturbed no election');
    assert.ok(leader.isLeader);
    for (const n of stayers) assert.equal(n.status().transport.peers['n3'], undefined);
    // A hand-made handshake as n3, with the right secret, is refused too.
    const addr = cluster.members.get(leader.id)!.address;
    assert.equal(await handshakeStatus(addr, signUpgrade(secretBytes(CLUSTER_SECRET), 'n3', leader.id, '')), 403);
    const refusedAfter = stayers.map((n) => n.status().transport.upgradesRefused);
    assert.ok(
      refusedAfter.some((r, i) => r > refusedBefore[i]!),
      `the remaining members refused n3 (${refusedBefore} -> ${refusedAfter})`,
    );
    assert.notEqual(cluster.machine('n3').data.get('k'), 'v2', 'n3 no longer receives the log');
  });
});
