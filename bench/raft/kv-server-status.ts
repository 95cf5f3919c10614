/** What a kv-server's GET /status answers: the fields of the Raft node's status the bench relies on. */
export interface KvServerStatus {
  readonly id: string;
  readonly role: string;
  /** The empty string while no leader is known. */
  readonly leader: string;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
}
