import type { WireService } from '../../protocol/wire-model.js';
import type { FederatedInstance } from '../federated-view.js';
import { isAvailable } from './effective-weights.js';

/**
 * One zone's part of one service: its instances (with the weights the merge gave them), the zone's
 * service settings, and the sums the merge and the counts need, kept up to date on every change so
 * that no read or weight computation has to walk the instances to get them.
 */
export class ZoneSlice {
  private readonly byId = new Map<string, FederatedInstance>();
  /** The zone's own service object (null while the zone only holds instances of it). */
  info: WireService | null = null;
  healthy = 0;
  /** Healthy and enabled. */
  available = 0;
  availableWeight = 0;
  /** Sum of effective weights. */
  effectiveSum = 0;
  /** Instances with an effective weight above 0. */
  serving = 0;
  private sorted: FederatedInstance[] | null = null;

  get size(): number {
    return this.byId.size;
  }

  get empty(): boolean {
    return this.byId.size === 0 && this.info === null;
  }

  get(id: string): FederatedInstance | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<FederatedInstance> {
    return this.byId.values();
  }

  /** Instances ordered by id; cached until the next change. */
  ordered(): readonly FederatedInstance[] {
    this.sorted ??= [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  /** Largest weight among available instances (walks the slice: used by the locality merge only). */
  availableWeightMax(): number {
    let max = 0;
    for (const i of this.byId.values()) if (isAvailable(i) && i.weight > max) max = i.weight;
    return max;
  }

  /** Puts (or replaces) an instance; returns the one it replaced. */
  set(inst: FederatedInstance): FederatedInstance | undefined {
    const old = this.byId.get(inst.id);
    if (old) this.account(old, -1);
    this.byId.set(inst.id, inst);
    this.account(inst, 1);
    this.sorted = null;
    return old;
  }

  delete(id: string): FederatedInstance | undefined {
    const old = this.byId.get(id);
    if (!old) return undefined;
    this.byId.delete(id);
    this.account(old, -1);
    this.sorted = null;
    return old;
  }

  private account(i: FederatedInstance, sign: 1 | -1): void {
    if (i.healthy) this.healthy += sign;
    if (isAvailable(i)) {
      this.available += sign;
      this.availableWeight += sign * i.weight;
      // Weights need not be integers: do not let rounding leave a residue behind an empty sum.
      if (this.available === 0) this.availableWeight = 0;
    }
    this.effectiveSum += sign * i.effectiveWeight;
    if (i.effectiveWeight > 0) this.serving += sign;
  }
}
