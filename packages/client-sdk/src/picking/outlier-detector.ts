import type { Clock } from '../clock.js';
import { CairnSdkError } from '../errors.js';
import type { InstanceState } from './instance-state.js';

/**
 * Passive outlier ejection, after Envoy's defaults: an instance that fails `consecutiveFailures`
 * calls in a row is ejected for `baseEjectionMs × times ejected` (at most `maxEjectionMs`), and no
 * more than `maxEjectedRatio` of a service's instances (at least one) are ever ejected at once.
 * Each `baseEjectionMs` an instance spends back in traffic forgives one past ejection.
 */
export interface OutlierOptions {
  readonly consecutiveFailures: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectedRatio: number;
}

export const OUTLIER_DEFAULTS: OutlierOptions = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectedRatio: 0.1,
};

export function resolveOutlierOptions(opts: Partial<OutlierOptions> | false | undefined): OutlierOptions | null {
  if (opts === false) return null;
  const o = { ...OUTLIER_DEFAULTS, ...opts };
  const bad = (msg: string): never => {
    throw new CairnSdkError('INVALID_OPTIONS', `outliers: ${msg}`);
  };
  if (!Number.isInteger(o.consecutiveFailures) || o.consecutiveFailures < 1) bad('consecutiveFailures must be >= 1');
  if (!(o.baseEjectionMs > 0)) bad('baseEjectionMs must be > 0');
  if (!(o.maxEjectionMs >= o.baseEjectionMs)) bad('maxEjectionMs must be >= baseEjectionMs');
  if (!(o.maxEjectedRatio >= 0 && o.maxEjectedRatio <= 1)) bad('maxEjectedRatio must be in [0, 1]');
  return o;
}

export class OutlierDetector {
  private ejectedCount = 0;

  /** `onChange` runs whenever an instance is ejected or returns (the picker rebuilds its plans). */
  constructor(
    private readonly opts: OutlierOptions,
    private readonly clock: Clock,
    private readonly onChange: () => void,
  ) {}

  get ejected(): number {
    return this.ejectedCount;
  }

  /** How many of `total` instances may be out at once: the ratio, but at least one. */
  maxEjected(total: number): number {
    return Math.max(1, Math.floor(this.opts.maxEjectedRatio * total));
  }

  success(s: InstanceState): void {
    s.consecutiveFailures = 0;
  }

  /** Counts a failed call; returns true when this failure ejected the instance. */
  failure(s: InstanceState, totalInstances: number): boolean {
    s.consecutiveFailures++;
    if (s.ejected || s.consecutiveFailures < this.opts.consecutiveFailures) return false;
    if (this.ejectedCount >= this.maxEjected(totalInstances)) return false;
    this.eject(s);
    return true;
  }

  /** The instance left the view: forget its ejection. */
  forget(s: InstanceState): void {
    s.timer?.cancel();
    s.timer = null;
    if (s.ejected) this.ejectedCount--;
    s.ejected = false;
  }

  private eject(s: InstanceState): void {
    const now = this.clock.now();
    if (s.returnedAtMs > 0) {
      const forgiven = Math.floor((now - s.returnedAtMs) / this.opts.baseEjectionMs);
      s.timesEjected = Math.max(0, s.timesEjected - forgiven);
    }
    s.timesEjected++;
    const durationMs = Math.min(this.opts.baseEjectionMs * s.timesEjected, this.opts.maxEjectionMs);
    s.ejected = true;
    s.ejectedUntilMs = now + durationMs;
    s.consecutiveFailures = 0;
    this.ejectedCount++;
    s.timer = this.clock.setTimer(() => this.restore(s), durationMs);
    this.onChange();
  }

  private restore(s: InstanceState): void {
    if (!s.ejected) return;
    s.ejected = false;
    s.timer = null;
    s.returnedAtMs = this.clock.now();
    this.ejectedCount--;
    this.onChange();
  }
}
