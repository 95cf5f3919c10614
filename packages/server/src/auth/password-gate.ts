import { CairnError } from '../errors.js';

/**
 * Bounds the password checks running at once. scrypt runs on libuv's thread pool, which the
 * replica's storage also uses: a flood of logins must queue (and past a bound, be refused) rather
 * than starve the Raft log's writes.
 */
export class PasswordGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly runningMax = 2,
    private readonly waitingMax = 64,
  ) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.running >= this.runningMax) {
      if (this.waiting.length >= this.waitingMax) {
        throw new CairnError('RATE_LIMITED', 'too many sign-ins in progress; retry shortly');
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter; otherwise it is freed.
      if (next) next();
      else this.running--;
    }
  }
}
