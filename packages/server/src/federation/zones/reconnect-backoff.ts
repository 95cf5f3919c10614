/**
 * Capped exponential backoff with jitter, counted in rounds (a round = every replica of a zone tried
 * once without success). Jitter keeps several federation nodes from knocking on a zone in step.
 */
export class ReconnectBackoff {
  private rounds = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {
    if (!(baseMs > 0 && maxMs >= baseMs)) throw new Error('backoff: need 0 < baseMs <= maxMs');
  }

  /** The pause before the next round, growing until it reaches the cap. */
  next(): number {
    const exp = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.rounds, 30));
    this.rounds++;
    return Math.round(exp * (0.5 + this.random() / 2));
  }

  reset(): void {
    this.rounds = 0;
  }

  get failedRounds(): number {
    return this.rounds;
  }
}
