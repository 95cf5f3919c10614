/**
 * Rise/fall accounting for one instance, as HAProxy does it: the registry's health flips to unhealthy
 * after `fall` consecutive failed probes, and back to healthy after `rise` consecutive good ones. A
 * single result the other way resets the run.
 */
export class CheckStreak {
  /** Consecutive good probes (0 after a failure). */
  okRun = 0;
  /** Consecutive failed probes (0 after a success). */
  failRun = 0;

  record(ok: boolean): void {
    if (ok) {
      this.okRun++;
      this.failRun = 0;
    } else {
      this.failRun++;
      this.okRun = 0;
    }
  }

  /** The health the registry should change to, given what it holds now; null when no change is due. */
  verdict(currentHealthy: boolean, rise: number, fall: number): boolean | null {
    if (currentHealthy && this.failRun >= fall) return false;
    if (!currentHealthy && this.okRun >= rise) return true;
    return null;
  }

  reset(): void {
    this.okRun = 0;
    this.failRun = 0;
  }
}
