import type { Clock, TimerHandle } from '../../src/clock.js';

/** A clock tests move by hand; timers fire in due order as time passes. */
export class ManualClock implements Clock {
  private nowMs = 1_000_000;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.nowMs;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.seq++;
    this.timers.set(id, { at: this.nowMs + ms, fn });
    return { cancel: () => this.timers.delete(id) };
  }

  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= until && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.nowMs = next[1].at;
      next[1].fn();
    }
    this.nowMs = until;
  }

  get pending(): number {
    return this.timers.size;
  }
}
