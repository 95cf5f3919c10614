import type { Message } from '../core/types.js';
import type { EventQueue } from './event-queue.js';
import type { FaultProfile, FaultWeights } from './fault-profiles.js';
import type { Prng } from './prng.js';
import type { SimNetwork } from './sim-network.js';
import { leaderAmong, type SimNode } from './sim-node.js';

export interface FaultStats {
  crashes: number;
  voteCrashes: number;
  leadersDeposed: number;
  restarts: number;
  partitions: number;
  heals: number;
  transfers: number;
  powerLosses: number;
}

/**
 * Decides, at random intervals, what goes wrong next: a crash (and a restart some time later), a
 * partition (symmetric, one-way, or the leader cut off), or a heal. Also crashes a node right after
 * it grants a vote, when the profile asks for it: the moment a vote that is not yet durable matters.
 */
export class FaultInjector {
  private stopped = false;
  readonly stats: FaultStats = {
    crashes: 0,
    voteCrashes: 0,
    leadersDeposed: 0,
    restarts: 0,
    partitions: 0,
    heals: 0,
    transfers: 0,
    powerLosses: 0,
  };

  constructor(
    private readonly queue: EventQueue,
    private readonly random: Prng,
    private readonly network: SimNetwork,
    private readonly nodes: readonly SimNode[],
    private readonly profile: FaultProfile,
  ) {}

  start(): void {
    this.scheduleNext();
  }

  /** No more faults: heal the network and bring every node back. */
  stop(): void {
    this.stopped = true;
    this.network.heal();
    for (const node of this.nodes) if (!node.up) this.restart(node);
  }

  /** Called for every message a node sends. */
  messageSent(from: SimNode, m: Message): void {
    if (this.stopped || m.type !== 'voteResp' || m.reject) return;
    if (!this.random.chance(this.profile.crashAfterVoteGrantRate) || !this.mayCrash()) return;
    this.queue.after(0, `fault: ${from.id} crashes after granting a vote in term ${m.term}`, () => {
      if (!from.up) return;
      this.stats.voteCrashes++;
      this.crash(from);
    });
  }

  /**
   * Called when a node starts leading: new leaders die young now and then, crashing or cut off
   * before their first appends have spread, which leaves competing uncommitted tails behind.
   */
  becameLeader(node: SimNode): void {
    if (this.stopped || !this.random.chance(this.profile.deposeNewLeaderRate)) return;
    const term = node.currentTerm;
    const isolate = this.random.chance(this.profile.deposeByIsolationShare);
    this.queue.after(
      this.random.between(0, this.profile.deposeNewLeaderMsMax),
      `fault: depose new leader ${node.id}`,
      () => {
        if (this.stopped || !node.up || node.currentTerm !== term) return;
        this.stats.leadersDeposed++;
        if (isolate) {
          this.network.heal();
          this.network.split(
            [node.id],
            this.nodes.filter((n) => n !== node).map((n) => n.id),
          );
          this.stats.partitions++;
        } else if (this.mayCrash()) {
          this.crash(node);
        }
      },
    );
  }

  private scheduleNext(): void {
    const delayMs = this.random.between(this.profile.faultEveryMsMin, this.profile.faultEveryMsMax);
    this.queue.after(delayMs, 'fault: decide', () => {
      if (this.stopped) return;
      this.act(this.pickAction());
      this.scheduleNext();
    });
  }

  private pickAction(): keyof FaultWeights {
    const weights = Object.entries(this.profile.weights) as [keyof FaultWeights, number][];
    let roll = this.random.float() * weights.reduce((sum, [, w]) => sum + w, 0);
    for (const [action, w] of weights) {
      roll -= w;
      if (roll < 0) return action;
    }
    return 'calm';
  }

  private act(action: keyof FaultWeights): void {
    const ids = this.nodes.map((n) => n.id);
    switch (action) {
      case 'calm':
        return;
      case 'heal':
        this.stats.heals++;
        this.network.heal();
        return;
      case 'crash': {
        const up = this.nodes.filter((n) => n.up);
        if (up.length > 0 && this.mayCrash()) this.crash(this.random.pick(up));
        return;
      }
      case 'powerLoss':
        for (const node of this.nodes) if (node.up) this.crash(node);
        this.stats.powerLosses++;
        return;
      case 'split': {
        const shuffled = this.shuffle(ids);
        const cut = this.random.between(1, ids.length - 1);
        this.network.heal();
        this.network.split(shuffled.slice(0, cut), shuffled.slice(cut));
        this.stats.partitions++;
        return;
      }
      case 'asymmetric': {
        this.network.heal();
        const links = this.random.between(1, ids.length);
        for (let i = 0; i < links; i++) {
          const from = this.random.pick(ids);
          const to = this.random.pick(ids.filter((id) => id !== from));
          this.network.block(from, to);
        }
        this.stats.partitions++;
        return;
      }
      case 'transfer': {
        const leader = leaderAmong(this.nodes);
        if (leader === undefined) return;
        const to = this.random.pick(ids.filter((id) => id !== leader.id));
        if (leader.transferLeadership(to) === 'started') this.stats.transfers++;
        return;
      }
      case 'isolateLeader': {
        const leader = leaderAmong(this.nodes);
        if (leader === undefined) return;
        this.network.heal();
        this.network.split(
          [leader.id],
          ids.filter((id) => id !== leader.id),
        );
        this.stats.partitions++;
        return;
      }
    }
  }

  private mayCrash(): boolean {
    const down = this.nodes.filter((n) => !n.up).length;
    return this.profile.crashMajority ? down < this.nodes.length : down + 1 <= (this.nodes.length - 1) >> 1;
  }

  private crash(node: SimNode): void {
    node.crash();
    this.stats.crashes++;
    const downMs = this.random.between(this.profile.downMsMin, this.profile.downMsMax);
    this.queue.after(downMs, `fault: restart ${node.id}`, () => {
      if (!node.up) this.restart(node);
    });
  }

  private restart(node: SimNode): void {
    this.stats.restarts++;
    node.start();
  }

  private shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}
