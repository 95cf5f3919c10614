import type { ConfChange, NodeId } from '../core/types.js';
import type { EventQueue } from './event-queue.js';
import type { Prng } from './prng.js';
import { leaderAmong, type SimNode } from './sim-node.js';

type Phase = 'idle' | 'removing' | 'addingLearner' | 'promoting';

/**
 * Walks one node at a time out of the cluster and back in: remove it, add it back as a learner,
 * promote it to voter. Each phase re-proposes its change to whoever leads until the leader's
 * configuration shows it took effect, so lost proposals and leader changes only slow it down.
 */
export class MembershipChanger {
  private phase: Phase = 'idle';
  private target: NodeId = '';
  private stopped = false;
  readonly stats = { proposed: 0, completedCycles: 0 };

  constructor(
    private readonly queue: EventQueue,
    private readonly random: Prng,
    private readonly nodes: readonly SimNode[],
    private readonly pollMs: number,
    private readonly cyclesMax: number,
  ) {}

  start(): void {
    this.schedule(this.random.between(this.pollMs, 10 * this.pollMs));
  }

  /** Starts no new cycle; the one under way still finishes, so that no node is left out. */
  stop(): void {
    this.stopped = true;
  }

  private schedule(delayMs: number): void {
    this.queue.after(delayMs, `membership: ${this.phase} ${this.target}`, () => {
      if (this.stopped && this.phase === 'idle') return;
      this.poll();
      this.schedule(this.pollMs);
    });
  }

  private poll(): void {
    const leader = leaderAmong(this.nodes);
    const conf = leader?.status()?.conf;
    if (leader === undefined || conf === undefined) return;
    const change = this.nextChange(conf.voters.includes(this.target), conf.learners.includes(this.target), conf.voters);
    if (change !== null && leader.proposeConfChange({ type: change, node: this.target, context: '' }) === 'proposed') {
      this.stats.proposed++;
    }
  }

  /** Moves the phase along from what the leader's configuration shows, and names the change to (re)propose. */
  private nextChange(isVoter: boolean, isLearner: boolean, voters: readonly NodeId[]): ConfChange['type'] | null {
    switch (this.phase) {
      case 'idle':
        if (this.stopped || this.stats.completedCycles >= this.cyclesMax || voters.length < this.nodes.length) {
          return null;
        }
        this.target = this.random.pick(voters);
        this.phase = 'removing';
        return 'removeNode';
      case 'removing':
        if (isVoter || isLearner) return 'removeNode';
        this.phase = 'addingLearner';
        return 'addLearner';
      case 'addingLearner':
        if (!isLearner) return isVoter ? 'addVoter' : 'addLearner';
        this.phase = 'promoting';
        return 'addVoter';
      case 'promoting':
        if (!isVoter) return 'addVoter';
        this.phase = 'idle';
        this.stats.completedCycles++;
        return null;
    }
  }
}
