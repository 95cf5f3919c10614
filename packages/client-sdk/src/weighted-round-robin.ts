/**
 * Smooth weighted round-robin (as in nginx): every pick adds each candidate's weight to its
 * running score, takes the highest, and subtracts the total from the winner. Over any window the
 * picks follow the weights, and heavy candidates are interleaved rather than picked in bursts.
 */
export class SmoothWeightedRoundRobin<T> {
  private readonly items: { value: T; weight: number; current: number }[];
  private readonly totalWeight: number;

  constructor(candidates: readonly { value: T; weight: number }[]) {
    this.items = candidates.filter((c) => c.weight > 0).map((c) => ({ value: c.value, weight: c.weight, current: 0 }));
    this.totalWeight = this.items.reduce((sum, c) => sum + c.weight, 0);
  }

  get size(): number {
    return this.items.length;
  }

  /** The next candidate, or undefined when none has a positive weight. */
  next(): T | undefined {
    let best: { value: T; weight: number; current: number } | undefined;
    for (const item of this.items) {
      item.current += item.weight;
      if (best === undefined || item.current > best.current) best = item;
    }
    if (best === undefined) return undefined;
    best.current -= this.totalWeight;
    return best.value;
  }
}
