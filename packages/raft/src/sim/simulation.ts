import type { ConfState, NodeId, PlantedBugs, RaftConfig } from '../core/types.js';
import { EventQueue } from './event-queue.js';
import { FaultInjector, type FaultStats } from './fault-injector.js';
import {
  defaultProfileFor,
  type FaultProfile,
  type PlantedBugName,
  type ProfileName,
  profileNamed,
} from './fault-profiles.js';
import { SafetyChecker, type SafetyProperty, SafetyViolation } from './invariants.js';
import { checkLinearizability, describeViolation, type HistoryOp } from './linearizability.js';
import { MembershipChanger } from './membership-changer.js';
import { Prng } from './prng.js';
import { type ClientStats, type ClientWorkload, SimClient } from './sim-client.js';
import { RELIABLE_NETWORK, SimNetwork } from './sim-network.js';
import { SimNode } from './sim-node.js';
import { TraceHash } from './trace-hash.js';

export interface SimOptions {
  readonly seed: number;
  readonly nodes?: 3 | 5;
  /** Events processed while faults and clients are active; a bounded quiet phase follows. */
  readonly steps?: number;
  /** Set this planted bug on every node. */
  readonly bug?: PlantedBugName;
  /** The fault mix; by default 'mixed', or the one aimed at `bug`. */
  readonly profile?: ProfileName;
  /** How many of the last events a failure report shows. */
  readonly traceTail?: number;
}

export type FailureKind = SafetyProperty | 'linearizability' | 'liveness' | 'core-error';

/** The cluster made no progress in a quiet period where it had every chance to. */
class LivenessFailure extends Error {}

export interface SimFailure {
  readonly kind: FailureKind;
  readonly step: number;
  readonly timeMs: number;
  readonly message: string;
  readonly recentEvents: readonly string[];
}

export interface SimStats {
  readonly timeMs: number;
  readonly events: number;
  readonly termsWithLeader: number;
  readonly committedEntries: number;
  readonly historyOps: number;
  readonly clients: ClientStats;
  readonly faults: FaultStats;
  readonly messages: { sent: number; delivered: number; dropped: number; duplicated: number };
  readonly snapshotsTaken: number;
  readonly snapshotsInstalled: number;
  readonly confChangesProposed: number;
  readonly membershipCycles: number;
  readonly linearizability: 'ok' | 'violation' | 'unknown' | 'skipped';
  readonly linearizabilitySteps: number;
}

export interface SimResult {
  readonly seed: number;
  readonly nodes: 3 | 5;
  readonly steps: number;
  readonly bug: PlantedBugName | undefined;
  readonly profile: ProfileName;
  readonly ok: boolean;
  readonly failure: SimFailure | null;
  /** A fingerprint of every event in order: equal for two runs of the same options, bit for bit. */
  readonly traceHash: string;
  /** The command line that replays this run. */
  readonly replay: string;
  readonly stats: SimStats;
}

export const STEPS_DEFAULT = 6000;
const TICK_MS = 10;
const QUEUE_EVENTS_MAX = 200_000;
const LOG_ENTRIES_MAX = 50_000;
const MEMBERSHIP_POLL_MS = 100;
const MEMBERSHIP_CYCLES_MAX = 3;
const LINEARIZABILITY_STEPS_MAX = 2_000_000;
const TRACE_TAIL_DEFAULT = 40;
/** Events the quiet phases may take (each ends earlier when its goal is met). */
const QUIET_STEPS_MAX = 100_000;
/** Simulated time a quiet, whole cluster gets to commit a write: many election timeouts. */
const LIVENESS_MS_MAX = 10_000;
const LIVENESS_PROBE: ClientWorkload = {
  keys: ['probe'],
  putShare: 1,
  casShare: 0,
  logReadShare: 0,
  indexReadShare: 0,
  thinkMsMin: 10,
  thinkMsMax: 20,
  timeoutMs: 500,
};

export function replayCommand(o: {
  seed: number;
  nodes: number;
  steps: number;
  bug: PlantedBugName | undefined;
  profile: ProfileName;
}): string {
  let cmd = `npm run sim -w @cairn/raft -- --seed ${o.seed} --count 1 --nodes ${o.nodes} --steps ${o.steps}`;
  if (o.bug !== undefined) cmd += ` --bug ${o.bug}`;
  if (o.profile !== defaultProfileFor(o.bug)) cmd += ` --profile ${o.profile}`;
  return cmd;
}

/** Runs one seeded simulation to the end or to the first broken property. Pure function of `options`. */
export function runSimulation(options: SimOptions): SimResult {
  const world = new World(options);
  return world.run();
}

/** The per-seed choices of core options, drawn from the profile. */
function drawCoreOptions(random: Prng, profile: FaultProfile) {
  return {
    preVote: random.pick(profile.preVoteChoices),
    checkQuorum: random.pick(profile.checkQuorumChoices),
    maxMsgBytes: random.pick(profile.maxMsgBytesChoices),
    maxInflightMsgs: random.pick(profile.maxInflightMsgsChoices),
    snapshotChunkBytes: random.pick(profile.snapshotChunkBytesChoices),
    compactEveryEntries: random.pick(profile.compactEveryEntriesChoices),
    electionTicks: random.pick(profile.electionTicksChoices),
    heartbeatTicks: random.pick(profile.heartbeatTicksChoices),
    maxUncommittedBytes: random.pick(profile.maxUncommittedBytesChoices),
    maxCommittedPerReady: random.pick(profile.maxCommittedPerReadyChoices),
  };
}

class World {
  private readonly seed: number;
  private readonly nodeCount: 3 | 5;
  private readonly steps: number;
  private readonly bug: PlantedBugName | undefined;
  private readonly profileName: ProfileName;
  private readonly traceTail: number;
  private readonly queue = new EventQueue(QUEUE_EVENTS_MAX);
  private readonly checker = new SafetyChecker();
  private readonly trace = new TraceHash();
  private readonly recent: string[] = [];
  private readonly history: HistoryOp[] = [];
  private readonly nodes: SimNode[] = [];
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly network: SimNetwork;
  private readonly faults: FaultInjector;
  private readonly clients: SimClient[] = [];
  private readonly membership: MembershipChanger | null;
  private readonly root: Prng;
  private readonly profile: FaultProfile;
  private step = 0;

  constructor(options: SimOptions) {
    this.seed = options.seed;
    this.nodeCount = options.nodes ?? 3;
    this.steps = options.steps ?? STEPS_DEFAULT;
    this.bug = options.bug;
    this.profileName = options.profile ?? defaultProfileFor(options.bug);
    this.traceTail = options.traceTail ?? TRACE_TAIL_DEFAULT;
    this.profile = profileNamed(this.profileName);
    this.root = new Prng(this.seed);
    const configRandom = this.root.fork('config');
    const core = drawCoreOptions(configRandom, this.profile);
    const network = configRandom.pick(this.profile.networks);

    this.network = new SimNetwork(this.queue, this.root.fork('network'), (m) => this.byId.get(m.to)?.receive(m));
    this.network.setFaults(network);
    const ids = Array.from({ length: this.nodeCount }, (_, i) => `n${i + 1}`);
    const initialConf: ConfState = { voters: ids, learners: [] };
    const plantedBugs: PlantedBugs | undefined = this.bug === undefined ? undefined : { [this.bug]: true };
    const nodeRandom = new Map(ids.map((id) => [id, this.root.fork(`raft:${id}`)]));
    const config = (id: NodeId): RaftConfig => {
      const random = nodeRandom.get(id)!;
      return {
        id,
        electionTicks: core.electionTicks,
        heartbeatTicks: core.heartbeatTicks,
        preVote: core.preVote,
        checkQuorum: core.checkQuorum,
        maxMsgBytes: core.maxMsgBytes,
        maxInflightMsgs: core.maxInflightMsgs,
        maxUncommittedBytes: core.maxUncommittedBytes,
        snapshotChunkBytes: core.snapshotChunkBytes,
        maxCommittedPerReady: core.maxCommittedPerReady,
        random: { int: (n) => (n <= 1 ? 0 : random.int(n)) },
        ...(plantedBugs === undefined ? {} : { plantedBugs }),
      };
    };
    this.faults = new FaultInjector(this.queue, this.root.fork('faults'), this.network, this.nodes, this.profile);
    for (const id of ids) {
      const node = new SimNode(
        id,
        {
          queue: this.queue,
          checker: this.checker,
          initialConf,
          diskMsMin: this.profile.diskMsMin,
          diskMsMax: this.profile.diskMsMax,
          compactEveryEntries: core.compactEveryEntries,
          sessionsMax: this.profile.clients + 1,
          logEntriesMax: LOG_ENTRIES_MAX,
          send: (m) => {
            this.faults.messageSent(this.byId.get(m.from)!, m);
            this.network.send(m);
          },
          config,
          becameLeader: (n) => this.faults.becameLeader(n),
        },
        this.root.fork(`disk:${id}`),
      );
      this.nodes.push(node);
      this.byId.set(id, node);
    }
    const clientRandom = this.root.fork('clients');
    for (let c = 1; c <= this.profile.clients; c++) {
      this.clients.push(
        new SimClient(c, this.queue, clientRandom.fork(`client:${c}`), this.nodes, this.profile.workload, this.history),
      );
    }
    this.membership =
      this.nodeCount === 5 && this.profile.membershipChanges
        ? new MembershipChanger(
            this.queue,
            this.root.fork('membership'),
            this.nodes,
            MEMBERSHIP_POLL_MS,
            MEMBERSHIP_CYCLES_MAX,
          )
        : null;
    this.trace.add(`config ${JSON.stringify(core)} ${JSON.stringify(network)}`);
  }

  run(): SimResult {
    let failure: SimFailure | null = null;
    let linearizability: SimStats['linearizability'] = 'skipped';
    let linearizabilitySteps = 0;
    try {
      this.startAll();
      this.runSteps(this.steps, () => false);
      this.quiesce();
      this.checkLiveness();
      const check = checkLinearizability(this.history, { stepsMax: LINEARIZABILITY_STEPS_MAX });
      linearizability = check.kind;
      linearizabilitySteps = check.steps;
      if (check.kind === 'violation') failure = this.failure('linearizability', describeViolation(check));
    } catch (err) {
      if (err instanceof SafetyViolation) failure = this.failure(err.property, err.message);
      else if (err instanceof LivenessFailure) failure = this.failure('liveness', err.message);
      else failure = this.failure('core-error', err instanceof Error ? (err.stack ?? err.message) : String(err));
    }
    this.trace.add(`end ${failure?.kind ?? 'ok'} ${this.nodes.map((n) => n.status()?.commit ?? -1).join(',')}`);
    return this.result(failure, linearizability, linearizabilitySteps);
  }

  /** Ends the faults: heals the network, restarts every node, and lets requests in flight finish or time out. */
  private quiesce(): void {
    this.faults.stop();
    this.network.setFaults(RELIABLE_NETWORK);
    this.membership?.stop();
    for (const c of this.clients) c.stop();
    this.runSteps(QUIET_STEPS_MAX, () => this.clients.every((c) => c.idle));
  }

  /**
   * With every node up and the network whole, the cluster must elect a leader and commit a write
   * within a bounded time: a probe client writes until one write is acknowledged.
   */
  private checkLiveness(): void {
    const probe = new SimClient(
      this.profile.clients + 1,
      this.queue,
      this.root.fork('probe'),
      this.nodes,
      LIVENESS_PROBE,
      this.history,
    );
    const deadlineMs = this.queue.nowMs + LIVENESS_MS_MAX;
    probe.start();
    this.runSteps(QUIET_STEPS_MAX, () => probe.stats.ok > 0 || this.queue.nowMs > deadlineMs);
    probe.stop();
    if (probe.stats.ok > 0) return;
    const nodes = this.nodes.map((n) => {
      const s = n.status();
      return s === null
        ? `${n.id} down`
        : `${n.id} ${s.role} term ${s.term} commit ${s.commit} leader '${s.leader}' voters [${s.conf.voters.join(' ')}]`;
    });
    throw new LivenessFailure(
      `no write committed within ${LIVENESS_MS_MAX} ms of quiet (all nodes up, network whole): ${nodes.join('; ')}`,
    );
  }

  private startAll(): void {
    const random = this.root.fork('ticks');
    for (const node of this.nodes) {
      node.start();
      const skew = 1 + (random.float() * 2 - 1) * this.profile.clockSkewMax;
      const periodMs = Math.max(1, Math.round(TICK_MS * skew));
      const tick = (): void => {
        node.tick();
        this.queue.after(periodMs, `tick ${node.id}`, tick);
      };
      this.queue.after(random.between(1, periodMs), `tick ${node.id}`, tick);
    }
    for (const c of this.clients) c.start();
    this.faults.start();
    this.membership?.start();
  }

  private runSteps(count: number, done: () => boolean): void {
    for (let i = 0; i < count && !done(); i++) {
      const event = this.queue.pop();
      if (event === undefined) return;
      this.step++;
      const line = `${event.timeMs} ${event.label}`;
      this.trace.add(line);
      this.recent.push(line);
      if (this.recent.length > this.traceTail) this.recent.shift();
      event.run();
    }
  }

  private failure(kind: FailureKind, message: string): SimFailure {
    return { kind, step: this.step, timeMs: this.queue.nowMs, message, recentEvents: [...this.recent] };
  }

  private result(
    failure: SimFailure | null,
    linearizability: SimStats['linearizability'],
    linSteps: number,
  ): SimResult {
    const sum = (f: (n: SimNode) => number): number => this.nodes.reduce((s, n) => s + f(n), 0);
    const clients: ClientStats = { ok: 0, refused: 0, unknown: 0, indexReads: 0, logReads: 0 };
    for (const c of this.clients) {
      for (const k of Object.keys(clients) as (keyof ClientStats)[]) clients[k] += c.stats[k];
    }
    return {
      seed: this.seed,
      nodes: this.nodeCount,
      steps: this.steps,
      bug: this.bug,
      profile: this.profileName,
      ok: failure === null,
      failure,
      traceHash: this.trace.digest(),
      replay: replayCommand({
        seed: this.seed,
        nodes: this.nodeCount,
        steps: this.steps,
        bug: this.bug,
        profile: this.profileName,
      }),
      stats: {
        timeMs: this.queue.nowMs,
        events: this.step,
        termsWithLeader: this.checker.termsWithLeader,
        committedEntries: this.checker.committedCount,
        historyOps: this.history.length,
        clients,
        faults: { ...this.faults.stats },
        messages: { ...this.network.stats },
        snapshotsTaken: sum((n) => n.stats.snapshotsTaken),
        snapshotsInstalled: sum((n) => n.stats.snapshotsInstalled),
        confChangesProposed: this.membership?.stats.proposed ?? 0,
        membershipCycles: this.membership?.stats.completedCycles ?? 0,
        linearizability,
        linearizabilitySteps: linSteps,
      },
    };
  }
}
