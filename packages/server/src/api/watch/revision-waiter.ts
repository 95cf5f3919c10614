import type { ZoneRegistry } from '../../registry/zone-registry.js';

interface Waiting {
  readonly revision: number;
  readonly resolve: (reached: boolean) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Lets a watch resume from a revision this replica has not applied yet (the client came from a
 * replica further ahead) by waiting, briefly, until the watch hub has published it.
 */
export class RevisionWaiter {
  private readonly waiting = new Set<Waiting>();
  private readonly onApplied = (): void => this.wakeReached();

  constructor(private readonly registry: ZoneRegistry) {
    registry.raft.on('applied', this.onApplied);
  }

  /** Resolves true once the hub has published `revision`, false after `timeoutMs`. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.registry.hub.revision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const w: Waiting = {
        revision,
        resolve,
        timer: setTimeout(() => {
          this.waiting.delete(w);
          resolve(false);
        }, timeoutMs),
      };
      this.waiting.add(w);
    });
  }

  close(): void {
    this.registry.raft.off('applied', this.onApplied);
    for (const w of this.waiting) {
      clearTimeout(w.timer);
      w.resolve(false);
    }
    this.waiting.clear();
  }

  private wakeReached(): void {
    if (this.waiting.size === 0) return;
    const published = this.registry.hub.revision;
    for (const w of this.waiting) {
      if (w.revision > published) continue;
      clearTimeout(w.timer);
      this.waiting.delete(w);
      w.resolve(true);
    }
  }
}
