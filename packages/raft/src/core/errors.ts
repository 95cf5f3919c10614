/** Stable codes for every way the Raft library refuses a request. Callers switch on `code`. */
export type RaftErrorCode =
  /** This node is not the leader and the request cannot be forwarded (no leader known). */
  | 'NO_LEADER'
  /** This node is not the leader; `leader` on the error names the one it knows. */
  | 'NOT_LEADER'
  /** The leader refused a proposal: uncommitted bytes are over their bound (quorum probably lost). */
  | 'PROPOSAL_DROPPED'
  /** A leadership transfer is running; proposals are refused until it ends. */
  | 'TRANSFER_IN_PROGRESS'
  /** A configuration change is already pending; only one may be in flight. */
  | 'CONF_CHANGE_PENDING'
  /** The configuration change makes no sense for the current configuration. */
  | 'CONF_CHANGE_INVALID'
  /** A learner may be promoted only once it has caught up with the leader's log. */
  | 'LEARNER_BEHIND'
  /** A ReadIndex request cannot be served yet: the leader has not committed an entry of its term. */
  | 'READ_INDEX_NOT_READY'
  /** The operation timed out; the outcome is unknown (a proposal may still commit). */
  | 'TIMEOUT'
  /** The node was closed. */
  | 'CLOSED'
  /** Persistent storage failed or holds data that cannot be read. */
  | 'STORAGE'
  /** The data directory is already opened by another process. */
  | 'LOCKED'
  /** A broken invariant: the node must stop rather than corrupt state. */
  | 'INVARIANT';

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  /** For NOT_LEADER: the leader this node knows of (may be empty). */
  readonly leader: string;

  constructor(code: RaftErrorCode, message: string, leader = '') {
    super(message);
    this.name = 'RaftError';
    this.code = code;
    this.leader = leader;
  }
}

/** Asserts an invariant. A broken invariant throws instead of letting the node corrupt its state. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new RaftError('INVARIANT', `raft invariant violated: ${message}`);
}
