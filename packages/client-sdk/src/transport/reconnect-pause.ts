import type { Clock } from '../clock.js';

/** The wait between reconnect attempts, which close() can cut short so shutdown never waits it out. */
export class ReconnectPause {
  private waking: (() => void) | null = null;

  constructor(private readonly clock: Clock) {}

  wait(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(() => {
        this.waking = null;
        resolve();
      }, ms);
      this.waking = () => {
        timer.cancel();
        this.waking = null;
        resolve();
      };
    });
  }

  /** Ends a wait in progress at once (nothing happens when none is). */
  wake(): void {
    this.waking?.();
  }
}
