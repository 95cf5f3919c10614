import type { Backend } from './backend.js';

/** What every page gets, and what it gives back: a way to stop its timers and sockets. */
export interface PageContext {
  readonly backend: Backend;
  /** The element the page renders into (inside <main>). */
  readonly root: HTMLElement;
}

export interface Page {
  dispose(): void;
}

/**
 * Runs `task` now and then every `everyMs` after the previous run finished (never two at once),
 * until stopped. `kick()` runs it again right away (after an action).
 */
export class Poller {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;
  private again = false;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<void>,
    private readonly everyMs: number,
  ) {}

  start(): this {
    void this.run();
    return this;
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      await this.task();
    } catch (err) {
      // Tasks show their own failures; this only keeps the loop alive.
      console.error(err);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.again) {
      this.again = false;
      void this.run();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.run();
    }, this.everyMs);
  }
}
