// The processes the README test starts: output kept for diagnosis, stopped by pid (never by name), and
// every one still running killed when the test process exits. Plus the small waits and HTTP helpers.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const proc of running) proc.kill('SIGKILL');
});

export class Proc {
  /** The last 64 KiB of stdout and stderr. */
  output = '';
  exitCode: number | null = null;
  readonly exited: Promise<void>;
  private done = false;

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    running.add(proc);
    const keep = (b: Buffer) => {
      this.output = (this.output + b.toString()).slice(-64 * 1024);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    proc.once('error', (err) => keep(Buffer.from(`spawn error: ${err.message}\n`)));
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code) => {
        this.done = true;
        this.exitCode = code;
        running.delete(proc);
        resolve();
      }),
    );
  }

  get alive(): boolean {
    return !this.done;
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 15_000): Promise<void> {
    if (!this.alive) return;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export function start(
  name: string,
  file: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; cwd?: string } = {},
): Proc {
  const proc = spawn(file, [...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env },
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
  });
  return new Proc(name, proc);
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (killed after `timeoutMs`); never rejects for a non-zero exit. */
export function run(
  file: string,
  args: readonly string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      [...args],
      {
        env: { ...process.env, ...opts.env },
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 16 * 1024 * 1024,
        ...(opts.cwd ? { cwd: opts.cwd } : {}),
      },
      (err, stdout, stderr) => {
        running.delete(child);
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        // No exit code: it could not start, or it was killed (err.killed: it ran past timeoutMs).
        const why =
          err && typeof err.code !== 'number' ? `\n${err.killed ? 'killed: too slow; ' : ''}${err.message}` : '';
        resolve({ code, stdout, stderr: `${stderr}${why}` });
      },
    );
    running.add(child);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `fn` until it returns something other than undefined; errors count as "not yet". */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}

export async function getJson<T>(url: string, init?: { method?: string; body?: unknown }): Promise<T> {
  const res = await fetch(url, {
    method: init?.method ?? 'GET',
    signal: AbortSignal.timeout(5000),
    ...(init?.body === undefined
      ? {}
      : { body: JSON.stringify(init.body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Whether UDP `port` can be bound on 127.0.0.1 now (the federation's DNS serves UDP and TCP). */
export function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => resolve(false));
    socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
  });
}
