import type { KvCommand } from './kv-command.js';
import type { KvOutput } from './linearizability.js';

/** What applying one command did: `output` is undefined for a stale duplicate (an older request of a client that has moved on). */
export interface KvApplyResult {
  readonly output: KvOutput | undefined;
}

interface Session {
  readonly reqId: number;
  readonly output: KvOutput;
}

interface SnapshotWire {
  data: [string, string][];
  sessions: [number, number, KvOutput][];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The replicated key-value store. A client session table (last request id and its answer per
 * client, as in the Raft thesis §6.3) makes a command that lands in the log twice, e.g. a forwarded
 * proposal the network duplicated, take effect once; the second copy answers from the table.
 */
export class KvStateMachine {
  private readonly data = new Map<string, string>();
  private readonly sessions = new Map<number, Session>();

  constructor(private readonly sessionsMax: number) {}

  apply(cmd: KvCommand): KvApplyResult {
    const session = this.sessions.get(cmd.clientId);
    if (session !== undefined && cmd.reqId < session.reqId) return { output: undefined };
    if (session !== undefined && cmd.reqId === session.reqId) return { output: session.output };
    const output = this.execute(cmd);
    if (session === undefined && this.sessions.size >= this.sessionsMax) {
      throw new Error(`more than ${this.sessionsMax} client sessions`);
    }
    this.sessions.set(cmd.clientId, { reqId: cmd.reqId, output });
    return { output };
  }

  private execute(cmd: KvCommand): KvOutput {
    const { key, value, expected } = cmd.input;
    const current = this.data.get(key);
    switch (cmd.op) {
      case 'get':
        return current === undefined ? { ok: true } : { ok: true, value: current };
      case 'put':
        this.data.set(key, value!);
        return { ok: true };
      case 'cas': {
        const swaps = current === expected;
        if (swaps) this.data.set(key, value!);
        return { ok: swaps };
      }
    }
  }

  get(key: string): string | undefined {
    return this.data.get(key);
  }

  /** The answer recorded for a client's request, if it is the client's latest applied one. */
  sessionOutput(clientId: number, reqId: number): KvOutput | undefined {
    const session = this.sessions.get(clientId);
    return session !== undefined && session.reqId === reqId ? session.output : undefined;
  }

  /** The latest request id applied for a client (0: none). */
  sessionReqId(clientId: number): number {
    return this.sessions.get(clientId)?.reqId ?? 0;
  }

  /** A canonical encoding (sorted), so that equal states have equal snapshots and fingerprints. */
  snapshot(): Uint8Array {
    return encoder.encode(this.fingerprint());
  }

  fingerprint(): string {
    const wire: SnapshotWire = {
      data: [...this.data.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      sessions: [...this.sessions.entries()].sort(([a], [b]) => a - b).map(([c, s]) => [c, s.reqId, s.output]),
    };
    return JSON.stringify(wire);
  }

  static restore(bytes: Uint8Array, sessionsMax: number): KvStateMachine {
    const sm = new KvStateMachine(sessionsMax);
    if (bytes.length === 0) return sm;
    const wire = JSON.parse(decoder.decode(bytes)) as SnapshotWire;
    for (const [k, v] of wire.data) sm.data.set(k, v);
    for (const [c, reqId, output] of wire.sessions) sm.sessions.set(c, { reqId, output });
    return sm;
  }
}
