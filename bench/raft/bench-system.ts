/** One HTTP write, in the shape undici's Dispatcher.request takes. */
export interface WriteRequest {
  readonly method: 'PUT' | 'POST';
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array;
}

export interface Member {
  readonly id: string;
  /** Where the load generator sends writes, e.g. http://127.0.0.1:2379. */
  readonly origin: string;
}

/** What the orchestrator needs from a replicated store under test: cairn's kv-servers or etcd. */
export interface BenchSystem {
  readonly name: 'cairn' | 'etcd';
  readonly members: readonly Member[];
  start(): Promise<void>;
  /** Resolves once every member is up and they agree on a leader. */
  waitReady(timeoutMs: number): Promise<void>;
  /** The member that currently leads, as seen by a majority of running members. */
  findLeader(): Promise<Member>;
  writeRequest(key: string, value: Uint8Array): WriteRequest;
  /** Pids of the running server processes, for CPU accounting. */
  serverPids(): number[];
  /** SIGKILL, resolving once the process is gone. */
  kill(memberId: string): Promise<void>;
  /** Restarts a killed member on its old data dir and waits until it has caught up with the leader. */
  restart(memberId: string, timeoutMs: number): Promise<void>;
  /** The last lines each member logged, for error reports. */
  logTails(): string;
  close(): Promise<void>;
}
