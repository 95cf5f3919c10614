/**
 * The vocabulary of the Raft core: log entries, persistent state, configuration, messages, and the
 * batch of work ("Ready") the core hands to its driver. Everything here is plain data so that it can
 * be persisted, sent over a wire, and compared in tests.
 */

/** A node's identity. Stable for the node's whole life; never reused for another node. */
export type NodeId = string;

/** The empty node id: "no vote", "no known leader". */
export const NONE: NodeId = '';

export type EntryType = 'normal' | 'conf';

export interface Entry {
  readonly term: number;
  readonly index: number;
  readonly type: EntryType;
  /** For 'normal': the caller's command (empty for the no-op a new leader appends). For 'conf': an encoded ConfChange. */
  readonly data: Uint8Array;
}

/** What must be durable before the node answers anyone: term, vote, and commit index. */
export interface HardState {
  readonly term: number;
  readonly vote: NodeId;
  readonly commit: number;
}

/** A cluster configuration: who votes and who only follows the log. */
export interface ConfState {
  readonly voters: readonly NodeId[];
  readonly learners: readonly NodeId[];
}

/**
 * Membership changes happen one node at a time (see core/README or raft.ts): a voter added, a learner
 * added, a learner promoted (addVoter of an existing learner), or any member removed.
 */
export type ConfChangeType = 'addVoter' | 'addLearner' | 'removeNode';

export interface ConfChange {
  readonly type: ConfChangeType;
  readonly node: NodeId;
  /** Opaque to the core; the driver carries the new member's address here. */
  readonly context: string;
}

export interface SnapshotMeta {
  /** The last log index the snapshot covers. */
  readonly index: number;
  /** The term of the entry at `index`. */
  readonly term: number;
  /** The configuration in force at `index`. */
  readonly conf: ConfState;
}

export interface Snapshot {
  readonly meta: SnapshotMeta;
  /** The state machine's serialized state at `meta.index`; opaque to the core. */
  readonly data: Uint8Array;
}

/** Everything a node needs to come back after a restart. */
export interface PersistedState {
  readonly hardState: HardState;
  /** The latest snapshot, if one was taken or received. */
  readonly snapshot: Snapshot | null;
  /** Entries after the snapshot (or from index 1), contiguous. */
  readonly entries: readonly Entry[];
}

// ---------------------------------------------------------------------------------------------
// Messages. Every message carries the sender's term; `to`/`from` are node ids.
// ---------------------------------------------------------------------------------------------

interface MessageBase {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

/** A vote request. `preVote` asks without disturbing anyone's term; `transfer` is set after TimeoutNow. */
export interface VoteMessage extends MessageBase {
  readonly type: 'vote' | 'preVote';
  readonly lastIndex: number;
  readonly lastTerm: number;
  readonly transfer: boolean;
}

export interface VoteResponseMessage extends MessageBase {
  readonly type: 'voteResp' | 'preVoteResp';
  readonly reject: boolean;
}

export interface AppendMessage extends MessageBase {
  readonly type: 'append';
  readonly prevIndex: number;
  readonly prevTerm: number;
  readonly entries: readonly Entry[];
  readonly commit: number;
}

export interface AppendResponseMessage extends MessageBase {
  readonly type: 'appendResp';
  readonly reject: boolean;
  /** On success: the highest index now matching the leader. On reject: the prevIndex that failed. */
  readonly index: number;
  /** On reject: the follower's last index, so the leader can skip back quickly. */
  readonly rejectHint: number;
}

export interface HeartbeatMessage extends MessageBase {
  readonly type: 'heartbeat';
  readonly commit: number;
  /** The newest ReadIndex round this heartbeat confirms leadership for (0: none). */
  readonly readSeq: number;
}

export interface HeartbeatResponseMessage extends MessageBase {
  readonly type: 'heartbeatResp';
  readonly readSeq: number;
}

/** One chunk of an InstallSnapshot transfer. Chunks of one snapshot arrive in order of offset. */
export interface SnapshotChunkMessage extends MessageBase {
  readonly type: 'snapshot';
  readonly meta: SnapshotMeta;
  readonly offset: number;
  readonly totalBytes: number;
  readonly chunk: Uint8Array;
}

export interface SnapshotResponseMessage extends MessageBase {
  readonly type: 'snapshotResp';
  /** The snapshot index this answers. */
  readonly index: number;
  /** Bytes received so far; the next chunk should start here. Equals totalBytes once installed. */
  readonly offset: number;
  /** True when the follower refused the transfer; the leader goes back to probing. */
  readonly reject: boolean;
}

/** A proposal forwarded by a follower to the leader. `reqIds[i]` identifies `entries[i]` to its sender. */
export interface ProposeMessage extends MessageBase {
  readonly type: 'prop';
  readonly entries: readonly { readonly type: EntryType; readonly data: Uint8Array }[];
  readonly reqIds: readonly number[];
}

/** The leader's answer to a forwarded proposal: where each entry landed, or that it was dropped. */
export interface ProposeResponseMessage extends MessageBase {
  readonly type: 'propResp';
  readonly reqIds: readonly number[];
  /** Index of each accepted entry, 0 where it was dropped. */
  readonly indexes: readonly number[];
  readonly entryTerm: number;
}

/** A ReadIndex request forwarded by a follower. */
export interface ReadIndexMessage extends MessageBase {
  readonly type: 'readIndex';
  readonly context: string;
}

export interface ReadIndexResponseMessage extends MessageBase {
  readonly type: 'readIndexResp';
  readonly context: string;
  /** The index a read may be served at once applied; 0 with reject. */
  readonly index: number;
  readonly reject: boolean;
}

/** Tells a caught-up follower to campaign now (leadership transfer). */
export interface TimeoutNowMessage extends MessageBase {
  readonly type: 'timeoutNow';
}

export type Message =
  | VoteMessage
  | VoteResponseMessage
  | AppendMessage
  | AppendResponseMessage
  | HeartbeatMessage
  | HeartbeatResponseMessage
  | SnapshotChunkMessage
  | SnapshotResponseMessage
  | ProposeMessage
  | ProposeResponseMessage
  | ReadIndexMessage
  | ReadIndexResponseMessage
  | TimeoutNowMessage;

export type MessageType = Message['type'];

// ---------------------------------------------------------------------------------------------
// What the core hands back.
// ---------------------------------------------------------------------------------------------

export type Role = 'follower' | 'preCandidate' | 'candidate' | 'leader';

export interface SoftState {
  readonly role: Role;
  readonly leader: NodeId;
}

/** The outcome of a ReadIndex request: read at `index` once applied, or refused. */
export interface ReadState {
  readonly context: string;
  readonly index: number;
  readonly reject: boolean;
}

/** Where a forwarded proposal landed (index > 0), or that it was dropped (index 0). */
export interface ProposalAck {
  readonly reqId: number;
  readonly index: number;
  readonly term: number;
}

/**
 * A batch of work. The driver carries it out in this order:
 *  1. send `messages` (safe before persistence: a leader's appends and heartbeats);
 *  2. persist `snapshot` (if any: it was received from the leader and replaces the whole stored log),
 *     then `hardState` and `entries`, all in one synced write
 *     (entries[0].index may be at or below the stored last index: truncate from there first);
 *  3. send `persistedMessages` (votes, acknowledgements: only true once the write is durable);
 *  4. restore `snapshot` into the state machine (if any), then apply `committed` in order;
 *  5. call `advance()`.
 */
export interface Ready {
  readonly softState: SoftState | null;
  readonly hardState: HardState | null;
  readonly snapshot: Snapshot | null;
  readonly entries: readonly Entry[];
  readonly messages: readonly Message[];
  readonly persistedMessages: readonly Message[];
  readonly committed: readonly Entry[];
  readonly readStates: readonly ReadState[];
  readonly proposalAcks: readonly ProposalAck[];
}

/** The result of `propose`: where the entry landed on the leader, or the id of a forwarded request. */
export type ProposeResult =
  | { readonly kind: 'appended'; readonly index: number; readonly term: number }
  | { readonly kind: 'forwarded'; readonly reqId: number };

/** A source of randomness the core may use (only for election timeouts). Seeded in tests. */
export interface RandomSource {
  /** An integer in [0, n). */
  int(n: number): number;
}

export interface RaftConfig {
  readonly id: NodeId;
  /** Ticks without hearing a leader before campaigning; the actual timeout is randomized in [T, 2T). */
  readonly electionTicks: number;
  /** Ticks between a leader's heartbeats. Must be less than electionTicks. */
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  /** Most bytes of entries in one append message (at least one entry is always sent). */
  readonly maxMsgBytes: number;
  /** Most append messages in flight to one follower while replicating. */
  readonly maxInflightMsgs: number;
  /** Most bytes of proposed-but-uncommitted entries a leader holds; further proposals are dropped. */
  readonly maxUncommittedBytes: number;
  /** Bytes of snapshot data in one InstallSnapshot chunk. */
  readonly snapshotChunkBytes: number;
  /** Most entries in one Ready's `committed` (bounds the apply batch). */
  readonly maxCommittedPerReady: number;
  readonly random: RandomSource;
  /**
   * Deliberate bugs, only for proving that the simulation harness catches them. Never set in
   * production; the node driver refuses a config that sets any.
   */
  readonly plantedBugs?: PlantedBugs;
}

export interface PlantedBugs {
  /** Count replicas of a previous term's entry toward commit (breaks Raft's Figure 8 rule). */
  readonly commitPreviousTerm?: boolean;
  /** Send vote replies before the vote is durable (a crash can then vote twice in a term). */
  readonly voteBeforePersist?: boolean;
  /** Answer ReadIndex at once, without confirming leadership with a quorum. */
  readonly readIndexWithoutQuorum?: boolean;
}

/** Defaults tuned for a LAN cluster ticking every 100 ms. */
export const DEFAULT_RAFT_CONFIG: Omit<RaftConfig, 'id' | 'random'> = {
  electionTicks: 10,
  heartbeatTicks: 1,
  preVote: true,
  checkQuorum: true,
  maxMsgBytes: 1024 * 1024,
  maxInflightMsgs: 256,
  maxUncommittedBytes: 64 * 1024 * 1024,
  snapshotChunkBytes: 1024 * 1024,
  maxCommittedPerReady: 4096,
};

/** A point-in-time view of a node, for status endpoints and tests. */
export interface RaftStatus {
  readonly id: NodeId;
  readonly role: Role;
  readonly term: number;
  readonly vote: NodeId;
  readonly leader: NodeId;
  readonly commit: number;
  readonly applied: number;
  readonly firstIndex: number;
  readonly lastIndex: number;
  readonly conf: ConfState;
  readonly transferee: NodeId;
  /** Present on the leader: each peer's replication progress. */
  readonly progress: Readonly<Record<NodeId, { match: number; next: number; state: ProgressState; active: boolean }>>;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';
