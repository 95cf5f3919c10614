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
   * Serializes the state as of the last applied entry. The state must be captured before this
   * returns: the node goes on applying while a returned promise is pending (so serializing does not
   * hold up writes), and the bytes must not show those later changes (copy-on-write, say, or an
   * immutable view). At most one snapshot is in progress at a time.
   */
  snapshot(): Uint8Array | Promise<Uint8Array>;
  /**
   * Replaces the whole state by a snapshot taken at `index` (by this node or by the leader). The node
   * applies nothing until the returned promise settles; a long restore may decode in slices.
   */
  restore(data: Uint8Array, index: number): void | Promise<void>;
}

export interface AppliedEntry {
  readonly index: number;
  readonly term: number;
  readonly data: Uint8Array;
}
