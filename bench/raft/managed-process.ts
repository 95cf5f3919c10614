import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { trackChild } from './cleanup.js';
import { sleep } from './wait.js';

export interface ManagedProcessSpec {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  /** The server's stdout and stderr go here, not through the orchestrator, which must stay idle. */
  readonly logPath: string;
}

/** A server process the benchmark owns: started, killed, restarted with the same spec. */
export class ManagedProcess {
  #child: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(readonly spec: ManagedProcessSpec) {}

  get pid(): number | undefined {
    return this.#child?.exitCode === null && this.#child.signalCode === null ? this.#child.pid : undefined;
  }

  start(): void {
    if (this.pid !== undefined) throw new Error(`${this.spec.name} is already running`);
    const logFd = openSync(this.spec.logPath, 'a');
    try {
      // stdin stays a pipe: a kv-server exits when it closes, i.e. when the orchestrator dies.
      const child = spawn(this.spec.command, [...this.spec.args], {
        env: this.spec.env,
        stdio: ['pipe', logFd, logFd],
      });
      trackChild(child);
      this.#exited = new Promise((resolve) => child.once('exit', () => resolve()));
      child.once('error', (error) => process.stderr.write(`${this.spec.name}: ${error.message}\n`));
      this.#child = child;
    } finally {
      closeSync(logFd);
    }
  }

  /** SIGKILL: the crash the failover test is about. Resolves once the process is gone. */
  async kill(): Promise<void> {
    this.#child?.kill('SIGKILL');
    await this.#exited;
  }

  /** SIGTERM, then SIGKILL if the process does not exit within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.pid === undefined) return;
    this.#child?.kill('SIGTERM');
    const exited = await Promise.race([this.#exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!exited) await this.kill();
  }

  logTail(lineCount = 20): string {
    try {
      const lines = readFileSync(this.spec.logPath, 'utf8').trimEnd().split('\n');
      return lines
        .slice(-lineCount)
        .map((line) => `  [${this.spec.name}] ${line}`)
        .join('\n');
    } catch {
      return `  [${this.spec.name}] (no log)`;
    }
  }
}
