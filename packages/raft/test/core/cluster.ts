// A tiny in-memory cluster for scenario tests: cores, a mailbox of messages, and per-node "disks".
// Nothing happens unless the test says so, so every scenario reads as a story of who said what.
import {
  type ConfState,
  DEFAULT_RAFT_CONFIG,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type PlantedBugs,
  type ProposalAck,
  type RaftConfig,
  RaftCore,
  type ReadState,
  type Ready,
  type Snapshot,
  seededRandom,
} from '../../src/core/index.js';

export interface Disk {
  hardState: HardState;
  entries: Entry[];
  snapshot: Snapshot | null;
}

export interface TestNode {
  core: RaftCore;
  disk: Disk;
  /** Entries applied, in order (including empty no-ops and conf entries). */
  applied: Entry[];
  readStates: ReadState[];
  proposalAcks: ProposalAck[];
  /** While set, Readies are taken but not persisted (an fsync that has not finished). */
  holdPersist: boolean;
  held: Ready[];
  /** The restored snapshot data, if any. */
  restoredFrom: Snapshot | null;
}

export interface ClusterOptions {
  config?: Partial<Omit<RaftConfig, 'id' | 'random'>>;
  plantedBugs?: PlantedBugs;
  seed?: number;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
export const data = (s: string): Uint8Array => enc.encode(s);
export const text = (e: { data: Uint8Array }): string => dec.decode(e.data);

export class Cluster {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Messages sent but not yet delivered, in send order. */
  mailbox: Message[] = [];
  /** Links that drop every message: "a->b". */
  private readonly cut = new Set<string>();
  private readonly down = new Set<NodeId>();
  private readonly voters: ConfState;
  private seed: number;

  constructor(
    ids: NodeId[],
    private readonly opts: ClusterOptions = {},
    learners: NodeId[] = [],
  ) {
    this.voters = { voters: ids, learners };
    this.seed = opts.seed ?? 1;
    for (const id of [...ids, ...learners])
      this.start(id, { hardState: { term: 0, vote: '', commit: 0 }, entries: [], snapshot: null });
    // Founders persist their bootstrap configuration entries before anything else happens.
    this.settle();
  }

  private config(id: NodeId): RaftConfig {
    return {
      ...DEFAULT_RAFT_CONFIG,
      electionTicks: 10,
      heartbeatTicks: 1,
      ...this.opts.config,
      id,
      random: seededRandom(this.seed++),
      ...(this.opts.plantedBugs ? { plantedBugs: this.opts.plantedBugs } : {}),
    };
  }

  start(id: NodeId, disk: Disk, initialConf: ConfState = this.voters): TestNode {
    const core = new RaftCore(
      this.config(id),
      { hardState: disk.hardState, entries: [...disk.entries], snapshot: disk.snapshot },
      initialConf,
    );
    const node: TestNode = {
      core,
      disk,
      applied: [],
      readStates: [],
      proposalAcks: [],
      holdPersist: false,
      held: [],
      restoredFrom: null,
    };
    this.nodes.set(id, node);
    this.down.delete(id);
    return node;
  }

  node(id: NodeId): TestNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  core(id: NodeId): RaftCore {
    return this.node(id).core;
  }

  /** Carries out every pending Ready of every live node, then delivers messages until quiet. */
  settle(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let progressed = false;
      for (const [id, n] of this.nodes) {
        if (this.down.has(id)) continue;
        while (n.core.hasReady()) {
          this.handleReady(n, n.core.ready());
          progressed = true;
        }
        if (n.holdPersist) {
          const msgs = n.core.takeMessages();
          if (msgs.length > 0) progressed = true;
          this.mailbox.push(...msgs);
        }
      }
      if (this.mailbox.length > 0) {
        const batch = this.mailbox;
        this.mailbox = [];
        for (const m of batch) this.deliver(m);
        progressed = true;
      }
      if (!progressed) return;
    }
    throw new Error('cluster did not settle');
  }

  private handleReady(n: TestNode, rd: Ready): void {
    this.mailbox.push(...rd.messages);
    if (n.holdPersist) {
      n.held.push(rd);
      return;
    }
    this.finishReady(n, rd);
  }

  private finishReady(n: TestNode, rd: Ready): void {
    persist(n.disk, rd);
    this.mailbox.push(...rd.persistedMessages);
    if (rd.snapshot) {
      n.restoredFrom = rd.snapshot;
      n.applied = n.applied.filter((e) => e.index <= rd.snapshot!.meta.index);
    }
    n.applied.push(...rd.committed);
    n.readStates.push(...rd.readStates);
    n.proposalAcks.push(...rd.proposalAcks);
    n.core.advance();
  }

  /** Lets a node's held fsync finish. */
  releasePersist(id: NodeId): void {
    const n = this.node(id);
    n.holdPersist = false;
    const held = n.held;
    n.held = [];
    for (const rd of held) this.finishReady(n, rd);
  }

  /** Rewrites or drops (null) messages on delivery, after cut links. */
  intercept: ((m: Message) => Message | null) | null = null;

  deliver(original: Message): void {
    let m: Message | null = original;
    if (this.down.has(m.to) || this.down.has(m.from) || this.cut.has(`${m.from}->${m.to}`)) return;
    if (this.intercept) m = this.intercept(m);
    if (m === null) return;
    const n = this.nodes.get(m.to);
    if (n) n.core.step(m);
  }

  /** Delivers nothing: returns and clears the mailbox so a test can reorder or drop by hand. */
  takeMailbox(): Message[] {
    const out = this.mailbox;
    this.mailbox = [];
    return out;
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.core(id).tick();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const [id, n] of this.nodes) if (!this.down.has(id)) n.core.tick();
      this.settle();
    }
  }

  /** Campaigns on `id` and lets the election run to its end. */
  elect(id: NodeId): void {
    this.core(id).campaign();
    this.settle();
  }

  propose(id: NodeId, s: string): void {
    this.core(id).propose(data(s));
    this.settle();
  }

  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  /** Splits the cluster: no messages between the groups. */
  partition(...groups: NodeId[][]): void {
    for (const a of groups)
      for (const b of groups) if (a !== b) for (const x of a) for (const y of b) this.cut.add(`${x}->${y}`);
  }

  heal(): void {
    this.cut.clear();
  }

  /** Crashes a node: in-memory state and unpersisted Readies are lost, the disk survives. */
  crash(id: NodeId): Disk {
    const n = this.node(id);
    n.held = [];
    this.down.add(id);
    this.mailbox = this.mailbox.filter((m) => m.from !== id && m.to !== id);
    return n.disk;
  }

  restart(id: NodeId, initialConf: ConfState = this.voters): TestNode {
    const disk = this.node(id).disk;
    return this.start(
      id,
      { hardState: disk.hardState, entries: [...disk.entries], snapshot: disk.snapshot },
      initialConf,
    );
  }

  leader(): NodeId | undefined {
    const leaders = [...this.nodes.entries()].filter(
      ([id, n]) => !this.down.has(id) && n.core.status().role === 'leader',
    );
    leaders.sort((a, b) => b[1].core.status().term - a[1].core.status().term);
    return leaders[0]?.[0];
  }

  /** A node's whole log (after its snapshot) as "index:term" strings, from its in-memory core. */
  logOf(id: NodeId): string[] {
    const st = this.core(id).status();
    const out: string[] = [];
    for (let i = st.firstIndex; i <= st.lastIndex; i++) out.push(`${i}:${this.core(id).entryAt(i)!.term}`);
    return out;
  }

  /** Applied commands (non-empty normal entries) of a node, as strings. */
  commands(id: NodeId): string[] {
    return this.node(id)
      .applied.filter((e) => e.type === 'normal' && e.data.length > 0)
      .map(text);
  }
}

/** Persists a Ready the way the driver does: snapshot, then truncate-and-append entries, then hard state. */
export function persist(disk: Disk, rd: Ready): void {
  if (rd.snapshot) {
    // A snapshot received from the leader replaces the whole stored log.
    disk.snapshot = rd.snapshot;
    disk.entries = [];
  }
  if (rd.entries.length > 0) {
    const from = rd.entries[0]!.index;
    disk.entries = disk.entries.filter((e) => e.index < from).concat(rd.entries);
  }
  if (rd.hardState) disk.hardState = rd.hardState;
}
