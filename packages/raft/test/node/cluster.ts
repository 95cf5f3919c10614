// In-process Raft clusters over real WebSockets on 127.0.0.1, for the node tests.
import type { Server } from 'node:http';
import { join as joinPath } from 'node:path';
import { seededRandom } from '../../src/core/random.js';
import type { NodeId } from '../../src/core/types.js';
import { createRaftNode, type RaftNode } from '../../src/node/index.js';
import type { RaftNodeOptions } from '../../src/node/raft-node-options.js';
import type { AppliedEntry, StateMachine } from '../../src/node/state-machine.js';
import { captureLogger, loopbackServer, tempDir, waitFor } from './helpers.js';

export const SECRET = 'node-test-cluster-secret-0123456789';
export const TICK_MS = 20;
export const ELECTION_TICKS = 10;
/** The longest randomized election timeout: [T, 2T) ticks. */
export const ELECTION_TIMEOUT_MAX_MS = 2 * ELECTION_TICKS * TICK_MS;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function command(key: string, value: string): Uint8Array {
  return encoder.encode(JSON.stringify({ key, value }));
}

/** A key-value state machine that records how it was driven. */
export class KvMachine implements StateMachine {
  data = new Map<string, string>();
  applyCount = 0;
  restores: number[] = [];
  lastApplied = 0;

  apply(entry: AppliedEntry): unknown {
    if (entry.index <= this.lastApplied) throw new Error(`applied ${entry.index} after ${this.lastApplied}`);
    this.lastApplied = entry.index;
    const { key, value } = JSON.parse(decoder.decode(entry.data)) as { key: string; value: string };
    if (key === 'poison') throw new Error('poisoned command');
    this.data.set(key, value);
    this.applyCount++;
    return `${key}@${entry.index}`;
  }

  snapshot(): Uint8Array {
    return encoder.encode(JSON.stringify([...this.data]));
  }

  restore(data: Uint8Array, index: number): void {
    this.data = new Map(JSON.parse(decoder.decode(data)) as [string, string][]);
    this.restores.push(index);
    this.lastApplied = index;
  }
}

interface Member {
  id: NodeId;
  address: string;
  port: number;
  dataDir: string;
  server: Server | null;
  closeServer: (() => Promise<void>) | null;
  node: RaftNode | null;
  machine: KvMachine;
  join: boolean;
}

export class Cluster {
  readonly members = new Map<NodeId, Member>();
  private readonly root: string;
  private readonly cleanupDir: () => Promise<void>;
  private readonly overrides: Partial<RaftNodeOptions>;
  private seed = 1;

  private constructor(root: string, cleanupDir: () => Promise<void>, overrides: Partial<RaftNodeOptions>) {
    this.root = root;
    this.cleanupDir = cleanupDir;
    this.overrides = overrides;
  }

  /** Starts `size` voters n1..n<size>. */
  static async start(size: number, overrides: Partial<RaftNodeOptions> = {}): Promise<Cluster> {
    const { dir, cleanup } = await tempDir('raft-node');
    const cluster = new Cluster(dir, cleanup, overrides);
    for (let i = 1; i <= size; i++) await cluster.listen(`n${i}`, false);
    for (const id of cluster.members.keys()) await cluster.startNode(id);
    return cluster;
  }

  /** Reserves a port and data dir for a new member (not started). */
  async listen(id: NodeId, join: boolean): Promise<Member> {
    const { server, address, close } = await loopbackServer();
    const member: Member = {
      id,
      address,
      port: Number(address.split(':')[1]),
      dataDir: joinPath(this.root, id),
      server,
      closeServer: close,
      node: null,
      machine: new KvMachine(),
      join,
    };
    this.members.set(id, member);
    return member;
  }

  private bootstrapPeers(): Record<NodeId, string> {
    const peers: Record<NodeId, string> = {};
    for (const m of this.members.values()) if (!m.join) peers[m.id] = m.address;
    return peers;
  }

  /** Starts (or restarts) the node of `id` with a fresh state machine, on its old port and data dir. */
  async startNode(id: NodeId, extra: Partial<RaftNodeOptions> = {}): Promise<RaftNode> {
    const m = this.members.get(id)!;
    if (m.server === null) {
      const { server, close } = await loopbackServer(m.port);
      m.server = server;
      m.closeServer = close;
    }
    m.machine = new KvMachine();
    const { logger } = captureLogger('warn');
    const node = await createRaftNode({
      id,
      peers: m.join ? {} : this.bootstrapPeers(),
      join: m.join,
      advertiseAddress: m.address,
      dataDir: m.dataDir,
      clusterSecret: SECRET,
      stateMachine: m.machine,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      snapshotEntries: 1000,
      logger,
      random: seededRandom(this.seed++),
      ...this.overrides,
      ...extra,
    });
    node.attachPeerServer(m.server);
    m.node = node;
    return node;
  }

  /** Closes the node and its server (a process going down). */
  async stop(id: NodeId): Promise<void> {
    const m = this.members.get(id)!;
    await m.node?.close();
    m.node = null;
    await m.closeServer?.();
    m.server = null;
    m.closeServer = null;
  }

  node(id: NodeId): RaftNode {
    const n = this.members.get(id)?.node;
    if (!n) throw new Error(`node ${id} is not running`);
    return n;
  }

  machine(id: NodeId): KvMachine {
    return this.members.get(id)!.machine;
  }

  running(): RaftNode[] {
    return [...this.members.values()].flatMap((m) => (m.node ? [m.node] : []));
  }

  /** Waits until exactly one running node leads and every running node agrees on it. */
  async leader(timeoutMs = 5_000, among = this.running()): Promise<RaftNode> {
    let found: RaftNode | null = null;
    await waitFor(
      'a leader all running nodes agree on',
      () => {
        const leaders = among.filter((n) => n.isLeader);
        if (leaders.length !== 1) return false;
        const lead = leaders[0]!;
        if (!among.every((n) => n.leaderId === lead.id)) return false;
        found = lead;
        return true;
      },
      timeoutMs,
    );
    return found!;
  }

  /** Waits until the nodes applied the same index, at least the highest any of them had applied on the call. */
  async waitConverged(ids: NodeId[], timeoutMs = 5_000): Promise<void> {
    const target = Math.max(...ids.map((id) => this.node(id).appliedIndex));
    await waitFor(
      `state machines of ${ids.join(', ')} to converge at ${target} or later`,
      () => {
        const first = JSON.stringify([...this.machine(ids[0]!).data].sort());
        const applied = this.node(ids[0]!).appliedIndex;
        if (applied < target) return false;
        return ids.every(
          (id) => this.node(id).appliedIndex === applied && JSON.stringify([...this.machine(id).data].sort()) === first,
        );
      },
      timeoutMs,
    );
  }

  async close(): Promise<void> {
    try {
      for (const id of this.members.keys()) await this.stop(id);
    } finally {
      await this.cleanupDir();
    }
  }
}
