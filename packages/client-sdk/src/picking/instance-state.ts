import type { TimerHandle } from '../clock.js';
import type { Instance } from '../instance.js';

/**
 * What this client knows about one instance beyond the registry's view: requests in flight to it
 * (for power-of-two-choices) and its outlier-ejection record. Kept across view updates by id.
 */
export class InstanceState {
  instance: Instance;
  inFlight = 0;
  consecutiveFailures = 0;
  ejected = false;
  /** Ejections so far, decayed while the instance behaves; multiplies the ejection time. */
  timesEjected = 0;
  /** When the last ejection ended (0: never ejected). */
  returnedAtMs = 0;
  ejectedUntilMs = 0;
  timer: TimerHandle | null = null;

  constructor(instance: Instance) {
    this.instance = instance;
  }

  /** In traffic, healthy in the registry's view, and not ejected by this client. */
  get usable(): boolean {
    const i = this.instance;
    return i.healthy && i.enabled && i.weight > 0 && !this.ejected;
  }
}
