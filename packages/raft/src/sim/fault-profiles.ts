import type { PlantedBugs } from '../core/types.js';
import type { ClientWorkload } from './sim-client.js';
import type { NetworkFaults } from './sim-network.js';

export type PlantedBugName = keyof PlantedBugs;
export const PLANTED_BUG_NAMES: readonly PlantedBugName[] = [
  'commitPreviousTerm',
  'voteBeforePersist',
  'readIndexWithoutQuorum',
];

export type ProfileName = 'mixed' | 'chaos' | 'vote-crash' | 'isolated-leader' | 'churn';
export const PROFILE_NAMES: readonly ProfileName[] = ['mixed', 'chaos', 'vote-crash', 'isolated-leader', 'churn'];

/** Relative weights of what the fault injector does at each decision point. */
export interface FaultWeights {
  readonly calm: number;
  readonly heal: number;
  readonly crash: number;
  /** Cut the cluster in two, both ways. */
  readonly split: number;
  /** Cut some links in one direction only. */
  readonly asymmetric: number;
  /** Cut the current leader off from everyone, both ways. */
  readonly isolateLeader: number;
  /** Every node crashes at once (a power cut), each coming back after its own downtime. */
  readonly powerLoss: number;
  /** Not a fault: ask the leader to hand over to another voter. */
  readonly transfer: number;
}

/**
 * A mix of faults and workload. 'mixed' is the general one the simulation test runs; the others
 * aim at one kind of bug each, so that a planted bug is caught within a small seed budget.
 */
export interface FaultProfile {
  readonly name: ProfileName;
  readonly faultEveryMsMin: number;
  readonly faultEveryMsMax: number;
  readonly weights: FaultWeights;
  /** How long a crashed node stays down. */
  readonly downMsMin: number;
  readonly downMsMax: number;
  /** Let a majority be down at once (the cluster then stalls, which is allowed). */
  readonly crashMajority: boolean;
  /** Chance that a new leader is deposed (crashed or cut off) soon after winning, its first appends half spread. */
  readonly deposeNewLeaderRate: number;
  readonly deposeNewLeaderMsMax: number;
  /** Of deposed new leaders, the share cut off rather than crashed (a crash loses what is not yet on disk). */
  readonly deposeByIsolationShare: number;
  /** Chance that a node crashes right after granting a vote, before the vote is on disk. */
  readonly crashAfterVoteGrantRate: number;
  /** One of these network fault levels is picked per seed. */
  readonly networks: readonly NetworkFaults[];
  /** Per-node tick period varies by up to this fraction, so nodes' clocks drift apart. */
  readonly clockSkewMax: number;
  /** Core options drawn per seed. */
  readonly preVoteChoices: readonly boolean[];
  readonly checkQuorumChoices: readonly boolean[];
  readonly maxMsgBytesChoices: readonly number[];
  readonly maxInflightMsgsChoices: readonly number[];
  readonly snapshotChunkBytesChoices: readonly number[];
  readonly compactEveryEntriesChoices: readonly number[];
  readonly electionTicksChoices: readonly number[];
  /** Each below the smallest election timeout. */
  readonly heartbeatTicksChoices: readonly number[];
  /** Small values make leaders drop proposals (PROPOSAL_DROPPED) while a quorum is away. */
  readonly maxUncommittedBytesChoices: readonly number[];
  /** Small values split applying over many Readies. */
  readonly maxCommittedPerReadyChoices: readonly number[];
  readonly diskMsMin: number;
  readonly diskMsMax: number;
  readonly clients: number;
  readonly workload: ClientWorkload;
  /** In 5-node clusters: remove a node, add it back as a learner, promote it, now and then. */
  readonly membershipChanges: boolean;
}

const CALM_NET: NetworkFaults = {
  lossRate: 0,
  duplicateRate: 0,
  delayMsMin: 1,
  delayMsMax: 8,
  slowRate: 0,
  slowDelayMsMax: 0,
};
const LOSSY_NET: NetworkFaults = {
  lossRate: 0.05,
  duplicateRate: 0.03,
  delayMsMin: 1,
  delayMsMax: 15,
  slowRate: 0.01,
  slowDelayMsMax: 300,
};
const HOSTILE_NET: NetworkFaults = {
  lossRate: 0.15,
  duplicateRate: 0.08,
  delayMsMin: 1,
  delayMsMax: 30,
  slowRate: 0.03,
  slowDelayMsMax: 600,
};

const WORKLOAD: ClientWorkload = {
  keys: ['a', 'b', 'c'],
  putShare: 35,
  casShare: 15,
  logReadShare: 20,
  indexReadShare: 30,
  thinkMsMin: 1,
  thinkMsMax: 30,
  timeoutMs: 600,
};

const MIXED: FaultProfile = {
  name: 'mixed',
  faultEveryMsMin: 50,
  faultEveryMsMax: 400,
  weights: { calm: 3, heal: 3, crash: 3, split: 2, asymmetric: 2, isolateLeader: 1, powerLoss: 0.5, transfer: 1 },
  downMsMin: 20,
  downMsMax: 800,
  crashMajority: false,
  deposeNewLeaderRate: 0.05,
  deposeNewLeaderMsMax: 60,
  deposeByIsolationShare: 0.5,
  crashAfterVoteGrantRate: 0.02,
  networks: [CALM_NET, LOSSY_NET, LOSSY_NET, HOSTILE_NET],
  clockSkewMax: 0.2,
  preVoteChoices: [true, true, false],
  checkQuorumChoices: [true, true, false],
  maxMsgBytesChoices: [1, 256, 1024 * 1024],
  maxInflightMsgsChoices: [1, 4, 256],
  snapshotChunkBytesChoices: [16, 64, 1024 * 1024],
  compactEveryEntriesChoices: [8, 30, 100],
  electionTicksChoices: [6, 10, 10, 20],
  heartbeatTicksChoices: [1, 2, 3],
  maxUncommittedBytesChoices: [400, 64 * 1024],
  maxCommittedPerReadyChoices: [1, 8, 64],
  diskMsMin: 1,
  diskMsMax: 10,
  clients: 4,
  workload: WORKLOAD,
  membershipChanges: true,
};

const PROFILES: Record<ProfileName, FaultProfile> = {
  mixed: MIXED,
  // Everything at once and more often: majority crashes, new leaders deposed, voters crashing after
  // granting, a network that loses, duplicates and delays far more. For soaking, not for speed.
  chaos: {
    ...MIXED,
    name: 'chaos',
    faultEveryMsMin: 20,
    faultEveryMsMax: 300,
    weights: { calm: 2, heal: 4, crash: 3, split: 2, asymmetric: 2, isolateLeader: 2, powerLoss: 0.5, transfer: 1 },
    downMsMin: 1,
    downMsMax: 500,
    crashMajority: true,
    deposeNewLeaderRate: 0.3,
    crashAfterVoteGrantRate: 0.2,
    networks: [HOSTILE_NET, { ...LOSSY_NET, duplicateRate: 0.3, slowRate: 0.1 }],
  },
  // Two candidates in one term, and a voter that forgets its vote: elections all the time (no
  // pre-vote to calm them), crashes right after granting, quick restarts, and late duplicates of
  // vote requests that reach the voter after it comes back.
  'vote-crash': {
    ...MIXED,
    name: 'vote-crash',
    faultEveryMsMin: 30,
    faultEveryMsMax: 200,
    weights: { calm: 2, heal: 3, crash: 0, split: 0, asymmetric: 1, isolateLeader: 3, powerLoss: 0, transfer: 0 },
    downMsMin: 1,
    downMsMax: 10,
    crashAfterVoteGrantRate: 1,
    networks: [{ ...LOSSY_NET, duplicateRate: 0.3, slowRate: 0.1, slowDelayMsMax: 100 }],
    preVoteChoices: [false],
    checkQuorumChoices: [false],
    diskMsMin: 5,
    diskMsMax: 30,
    membershipChanges: false,
  },
  // A deposed leader that does not know it yet, with readers still talking to it: leaders cut off
  // often, no check-quorum (so the old leader stays leader while cut off), and mostly ReadIndex reads.
  'isolated-leader': {
    ...MIXED,
    name: 'isolated-leader',
    faultEveryMsMin: 200,
    faultEveryMsMax: 600,
    weights: { calm: 0, heal: 2, crash: 0, split: 0, asymmetric: 0, isolateLeader: 3, powerLoss: 0, transfer: 0 },
    crashAfterVoteGrantRate: 0,
    networks: [CALM_NET],
    checkQuorumChoices: [false],
    workload: { ...WORKLOAD, putShare: 40, casShare: 0, logReadShare: 0, indexReadShare: 60 },
    membershipChanges: false,
  },
  // Figure 8 of the Raft paper: leaders deposed right after winning leave competing uncommitted
  // tails from different terms, and a re-elected old leader may count an old-term entry toward
  // commit. Every new leader is cut off within 40 ms; one entry per append so an old entry and the
  // new leader's first entry travel separately; a write-heavy workload so short reigns append
  // something; no pre-vote or check-quorum, so cut-off nodes come back with terms that win.
  churn: {
    ...MIXED,
    name: 'churn',
    faultEveryMsMin: 200,
    faultEveryMsMax: 600,
    weights: { calm: 1, heal: 3, crash: 5, split: 2, asymmetric: 1, isolateLeader: 3, powerLoss: 1, transfer: 1 },
    downMsMin: 10,
    downMsMax: 300,
    crashMajority: true,
    deposeNewLeaderRate: 1,
    deposeNewLeaderMsMax: 40,
    deposeByIsolationShare: 1,
    networks: [
      { ...LOSSY_NET, lossRate: 0.02, duplicateRate: 0.02, delayMsMin: 3, delayMsMax: 20, slowDelayMsMax: 100 },
    ],
    preVoteChoices: [false],
    checkQuorumChoices: [false],
    maxMsgBytesChoices: [1],
    maxInflightMsgsChoices: [1, 2],
    electionTicksChoices: [10],
    heartbeatTicksChoices: [2],
    maxUncommittedBytesChoices: [64 * 1024],
    workload: { ...WORKLOAD, putShare: 70, casShare: 10, logReadShare: 10, indexReadShare: 10, thinkMsMax: 8 },
    membershipChanges: false,
  },
};

export function profileNamed(name: ProfileName): FaultProfile {
  return PROFILES[name];
}

/** The profile a planted bug is hunted with unless one is named. */
export function defaultProfileFor(bug: PlantedBugName | undefined): ProfileName {
  switch (bug) {
    case undefined:
      return 'mixed';
    case 'commitPreviousTerm':
      return 'churn';
    case 'voteBeforePersist':
      return 'vote-crash';
    case 'readIndexWithoutQuorum':
      return 'isolated-leader';
  }
}
