/** The caller's replicated state machine, driven by the node. */
export interface StateMachine {
  /**
   * Applies one committed command, in log order, exactly once per process lifetime of the state
   * (after a restart, from the last snapshot on). Must be deterministic. The return value resolves
   * the proposal that created the entry (on the node that proposed it). Must not throw: return an
   * error value instead. A throw is fatal to the node, since replicas could no longer agree.
   */
  apply(entry: AppliedEntry): unknown;
  /**
   * Serializes the state as of the last applied entry. The node applies nothing while this runs, so
   * an async implementation may take its time, but it must not observe later changes.
   */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /** Replaces the whole state by a snapshot taken at `index` (by this node or by the leader). */
  restore(data: Uint8Array, index: number): void | Promise<void>;
}

export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}
