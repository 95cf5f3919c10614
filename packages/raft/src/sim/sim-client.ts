import type { EventQueue } from './event-queue.js';
import type { KvCommand } from './kv-command.js';
import type { HistoryOp, KvInput, KvOpName } from './linearizability.js';
import type { RequestOutcome } from './pending-requests.js';
import type { Prng } from './prng.js';
import type { SimNode } from './sim-node.js';

export interface ClientWorkload {
  readonly keys: readonly string[];
  /** Shares of each kind of request; reads split between the log and ReadIndex. */
  readonly putShare: number;
  readonly casShare: number;
  readonly logReadShare: number;
  readonly indexReadShare: number;
  readonly thinkMsMin: number;
  readonly thinkMsMax: number;
  /** A request unanswered after this long is abandoned and recorded with an unknown outcome. */
  readonly timeoutMs: number;
}

export interface ClientStats {
  ok: number;
  refused: number;
  unknown: number;
  indexReads: number;
  logReads: number;
}

/**
 * A simulated client: one request at a time, to a node picked at random (a follower forwards to the
 * leader). Each request it makes goes into the shared history with its call and return times; one
 * that timed out goes in with an unknown outcome; one that was refused (it cannot have happened) is
 * left out.
 */
export class SimClient {
  private reqId = 0;
  /** The request in flight, if any. */
  private pending: { cmd: KvCommand; node: SimNode; callTimeMs: number; via: 'log' | 'index' } | null = null;
  private stopped = false;
  /** The last value this client saw per key: what its cas expects. */
  private readonly lastSeen = new Map<string, string | undefined>();
  readonly stats: ClientStats = { ok: 0, refused: 0, unknown: 0, indexReads: 0, logReads: 0 };

  constructor(
    readonly id: number,
    private readonly queue: EventQueue,
    private readonly random: Prng,
    private readonly nodes: readonly SimNode[],
    private readonly workload: ClientWorkload,
    private readonly history: HistoryOp[],
  ) {}

  get idle(): boolean {
    return this.pending === null;
  }

  start(): void {
    this.think();
  }

  /** No new requests; the one in flight still finishes or times out. */
  stop(): void {
    this.stopped = true;
  }

  private think(): void {
    if (this.stopped) return;
    const w = this.workload;
    this.queue.after(this.random.between(w.thinkMsMin, w.thinkMsMax), `client ${this.id} issues`, () => this.issue());
  }

  private issue(): void {
    if (this.stopped) return;
    const reqId = ++this.reqId;
    const { op, input, via } = this.nextRequest(reqId);
    const cmd: KvCommand = { clientId: this.id, reqId, op, input };
    const node = this.random.pick(this.nodes);
    this.pending = { cmd, node, callTimeMs: this.queue.nowMs, via };
    this.queue.after(this.workload.timeoutMs, `client ${this.id} timeout ${reqId}`, () => {
      if (this.pending?.cmd.reqId !== reqId) return;
      node.abandon(cmd);
      this.finish(reqId, { kind: 'unknown', reason: 'timeout' });
    });
    const done = (outcome: RequestOutcome): void => this.finish(reqId, outcome);
    if (via === 'index') node.read(cmd, done);
    else node.submit(cmd, done);
  }

  private nextRequest(reqId: number): { op: KvOpName; input: KvInput; via: 'log' | 'index' } {
    const w = this.workload;
    const key = this.random.pick(w.keys);
    const value = `${this.id}.${reqId}`;
    const roll = this.random.float() * (w.putShare + w.casShare + w.logReadShare + w.indexReadShare);
    if (roll < w.putShare) return { op: 'put', input: { key, value }, via: 'log' };
    if (roll < w.putShare + w.casShare) {
      const expected = this.lastSeen.get(key);
      const input = expected === undefined ? { key, value } : { key, value, expected };
      return { op: 'cas', input, via: 'log' };
    }
    const via = roll < w.putShare + w.casShare + w.logReadShare ? 'log' : 'index';
    return { op: 'get', input: { key }, via };
  }

  private finish(reqId: number, outcome: RequestOutcome): void {
    const p = this.pending;
    if (p === null || p.cmd.reqId !== reqId) return;
    this.pending = null;
    const { cmd, callTimeMs } = p;
    if (outcome.kind === 'refused') {
      this.stats.refused++;
    } else {
      const known = outcome.kind === 'ok';
      if (known) {
        this.stats.ok++;
        if (cmd.op === 'get') {
          this.lastSeen.set(cmd.input.key, outcome.output.value);
          if (p.via === 'index') this.stats.indexReads++;
          else this.stats.logReads++;
        } else if (outcome.output.ok) this.lastSeen.set(cmd.input.key, cmd.input.value);
      } else {
        this.stats.unknown++;
      }
      this.history.push({
        clientId: this.id,
        op: cmd.op,
        input: cmd.input,
        output: known ? outcome.output : undefined,
        callTime: callTimeMs,
        returnTime: known ? this.queue.nowMs : Number.POSITIVE_INFINITY,
        note: `${p.via === 'index' ? 'ReadIndex' : 'log'} via ${p.node.id}${known ? '' : `: ${outcome.reason}`}`,
      });
    }
    this.think();
  }
}
