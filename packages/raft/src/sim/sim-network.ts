import type { Message, NodeId } from '../core/types.js';
import type { EventQueue } from './event-queue.js';
import type { Prng } from './prng.js';

/** How unreliable the network is. Rates are per message. */
export interface NetworkFaults {
  readonly lossRate: number;
  readonly duplicateRate: number;
  /** Ordinary one-way delay, uniform in [min, max]; messages overtake each other within it. */
  readonly delayMsMin: number;
  readonly delayMsMax: number;
  /** A few messages get stuck far longer, to arrive after the world has moved on. */
  readonly slowRate: number;
  readonly slowDelayMsMax: number;
}

export const RELIABLE_NETWORK: NetworkFaults = {
  lossRate: 0,
  duplicateRate: 0,
  delayMsMin: 1,
  delayMsMax: 5,
  slowRate: 0,
  slowDelayMsMax: 0,
};

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  duplicated: number;
}

/**
 * The simulated network: every message becomes a delivery event at a random later time, unless a
 * partition or loss swallows it. Partitions are per direction, so a can reach b while b cannot
 * reach a. A partition is checked when a message is sent and again when it arrives.
 */
export class SimNetwork {
  private faults: NetworkFaults = RELIABLE_NETWORK;
  /** Directed links that drop everything: "from>to". */
  private readonly blocked = new Set<string>();
  readonly stats: NetworkStats = { sent: 0, delivered: 0, dropped: 0, duplicated: 0 };

  constructor(
    private readonly queue: EventQueue,
    private readonly random: Prng,
    private readonly deliver: (m: Message) => void,
  ) {}

  setFaults(faults: NetworkFaults): void {
    this.faults = faults;
  }

  send(m: Message): void {
    this.stats.sent++;
    if (!this.canReach(m.from, m.to) || this.random.chance(this.faults.lossRate)) {
      this.stats.dropped++;
      return;
    }
    const copies = this.random.chance(this.faults.duplicateRate) ? 2 : 1;
    if (copies === 2) this.stats.duplicated++;
    for (let i = 0; i < copies; i++) {
      const label = `deliver ${m.type} ${m.from}>${m.to} t${m.term}`;
      this.queue.after(this.delayMs(), label, () => {
        if (!this.canReach(m.from, m.to)) {
          this.stats.dropped++;
          return;
        }
        this.stats.delivered++;
        this.deliver(m);
      });
    }
  }

  private delayMs(): number {
    const f = this.faults;
    if (this.random.chance(f.slowRate))
      return this.random.between(f.delayMsMax, Math.max(f.delayMsMax, f.slowDelayMsMax));
    return this.random.between(f.delayMsMin, f.delayMsMax);
  }

  canReach(from: NodeId, to: NodeId): boolean {
    return !this.blocked.has(`${from}>${to}`);
  }

  block(from: NodeId, to: NodeId): void {
    this.blocked.add(`${from}>${to}`);
  }

  /** Cuts every link between the two groups, both ways. */
  split(a: readonly NodeId[], b: readonly NodeId[]): void {
    for (const x of a) {
      for (const y of b) {
        this.block(x, y);
        this.block(y, x);
      }
    }
  }

  heal(): void {
    this.blocked.clear();
  }

  /** The blocked links, sorted: for the trace and for failure reports. */
  describePartition(): string {
    return [...this.blocked].sort().join(' ') || 'none';
  }
}
