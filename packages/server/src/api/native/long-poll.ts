import { CairnError } from '../../errors.js';
import { type ServiceKey, serviceKeyOf } from '../../registry/model.js';
import type { Change } from '../../registry/registry-state.js';
import type { WatchHub } from '../../registry/watch-hub.js';

/** Why a long-poll returned. */
export type LongPollOutcome = 'changed' | 'timeout' | 'aborted';

/**
 * Long-polls for clients without WebSockets: a read with `waitIndex=R` is held until the service
 * changes at a revision above R, or until its wait elapses. Each pending poll is a watcher on the
 * replica's watch hub, filtered to its service, so a change wakes exactly the polls it concerns; the
 * hub's bounded history answers at once a poll whose R is older than a change already applied.
 * The number of pending polls is bounded; past it, polls are refused with RATE_LIMITED.
 */
export class LongPollGate {
  private readonly pending = new Set<() => void>();

  constructor(
    private readonly hub: WatchHub,
    private readonly maxPending: number,
  ) {
    if (!(maxPending >= 1)) throw new Error(`long-poll: maxPending must be >= 1, got ${maxPending}`);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Resolves 'changed' once `service` has a change at a revision above `afterRevision` (at once if the
   * hub already holds one, or if it no longer remembers back to `afterRevision`), 'timeout' after
   * `waitMs`, 'aborted' when `signal` aborts or the gate closes.
   */
  wait(service: ServiceKey, afterRevision: number, waitMs: number, signal?: AbortSignal): Promise<LongPollOutcome> {
    if (this.pending.size >= this.maxPending) {
      throw new CairnError(
        'RATE_LIMITED',
        `too many long-polls pending on this replica (at most ${this.maxPending}); retry shortly, or watch over /v1/watch`,
      );
    }
    if (signal?.aborted) return Promise.resolve('aborted');
    const key = serviceKeyOf(service);
    const relevant = (c: Change): boolean =>
      (c.kind === 'instance' && serviceKeyOf(c.instance) === key) ||
      (c.kind === 'service' && serviceKeyOf(c.service) === key);

    return new Promise<LongPollOutcome>((resolve) => {
      let done = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: LongPollOutcome): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        this.hub.unwatch(watcher);
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(close);
        resolve(outcome);
      };
      const close = (): void => finish('aborted');
      const onAbort = (): void => finish('aborted');
      const check = (): void => {
        if (done) return;
        const events = this.hub.drain(watcher);
        // A resync means the hub could not keep this poll's history whole: answer, the client re-reads.
        if (events.some((ev) => ev.type === 'resync' || (ev.revision > afterRevision && ev.changes.some(relevant)))) {
          finish('changed');
        }
      };
      // A client ahead of this replica (it read a newer revision elsewhere) waits from here on.
      const from = Math.min(afterRevision, this.hub.revision);
      // wake() may fire inside watch() while history replays; the microtask runs once `watcher` is set.
      const { watcher, resumed } = this.hub.watch({ services: new Set([key]) }, () => queueMicrotask(check), from);
      this.pending.add(close);
      if (!resumed) return finish('changed'); // the hub forgot that far back: the client must re-read
      check();
      if (done) return;
      timer = setTimeout(() => finish('timeout'), waitMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Answers every pending poll now (the server is closing). */
  closeAll(): void {
    for (const close of [...this.pending]) close();
  }
}
