// Child processes of the end-to-end test: output kept for diagnosis, killed by pid, and every one still
// running killed synchronously when the test process exits, on an uncaught failure or on a signal
// (the test runner cancelling it, Ctrl-C), so that nothing outlives a run.
import { type ChildProcess, spawn } from 'node:child_process';

const running = new Set<ChildProcess>();

function killAllNow(): void {
  for (const proc of running) proc.kill('SIGKILL');
  running.clear();
}
process.once('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    killAllNow();
    process.kill(process.pid, signal);
  });
}

/** Kills `proc` (started elsewhere, e.g. a zone replica) when this process exits or is signalled. */
export function killOnExit(proc: ChildProcess): void {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
}

export class Child {
  /** The last 64 KiB of stdout and stderr together. */
  output = '';
  readonly exited: Promise<void>;
  private exitedNow = false;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    killOnExit(proc);
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-64 * 1024);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        this.exitedNow = true;
        resolve();
      }),
    );
    proc.once('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
  }

  get alive(): boolean {
    return !this.exitedNow;
  }

  /** Sends `signal` and waits for the exit (SIGKILL after 3 s if a gentler signal was ignored). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.alive) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(timer);
  }

  /** Resolves with the first match of `pattern` in the output. */
  async waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = pattern.exec(this.output);
      if (m) return m;
      if (!this.alive) throw new Error(`${this.name} exited before printing ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  tail(chars = 3000): string {
    return `--- ${this.name} (${this.alive ? 'running' : 'exited'})\n${this.output.slice(-chars)}`;
  }
}

export function start(name: string, command: string, args: readonly string[], env?: NodeJS.ProcessEnv): Child {
  // stdin stays a pipe: a child that watches it (orders-instance) exits when this process dies.
  return new Child(name, spawn(command, [...args], { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env }));
}
