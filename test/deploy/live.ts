// Real `cairn` processes on 127.0.0.1 for the deploy test: a single-replica zone and, when the CLI has
// it, a federation node. Every process is stopped by the caller (stopAll), and temp dirs removed.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './cli-model.js';

/** A port free now on 127.0.0.1 (TCP and UDP are not checked separately: the range is quiet). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const ok = await new Promise<boolean>((done) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', () => done(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port between 20000 and 32000');
}

export interface LiveProcess {
  readonly args: readonly string[];
  readonly url: string;
  readonly proc: ChildProcess;
  output: string;
}

const running = new Set<LiveProcess>();
const dirs = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Starts `node main.js <args>` (stopped by stopAll) without waiting for it. */
export function spawnCairn(args: readonly string[], url: string): LiveProcess {
  const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: LiveProcess = { args, url, proc, output: '' };
  running.add(p);
  proc.stdout?.on('data', (d: Buffer) => {
    p.output += d.toString();
  });
  proc.stderr?.on('data', (d: Buffer) => {
    p.output += d.toString();
  });
  return p;
}

/** Starts `node main.js <args>` and waits until GET `${url}${readyPath}` answers 200. */
export async function startCairn(args: readonly string[], url: string, readyPath: string): Promise<LiveProcess> {
  const p = spawnCairn(args, url);
  const { proc } = p;
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`cairn ${args.join(' ')} exited (${proc.exitCode}):\n${p.output}`);
    try {
      const res = await fetch(`${url}${readyPath}`, { signal: AbortSignal.timeout(1000) });
      if (res.status === 200) return p;
    } catch {
      // not listening yet
    }
    await sleep(150);
  }
  throw new Error(`cairn ${args.join(' ')}: ${readyPath} not 200 within 30 s:\n${p.output}`);
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (p) =>
        new Promise<void>((done) => {
          running.delete(p);
          if (p.proc.exitCode !== null || p.proc.signalCode !== null) return done();
          const kill = setTimeout(() => p.proc.kill('SIGKILL'), 5000);
          p.proc.once('exit', () => {
            clearTimeout(kill);
            done();
          });
          p.proc.kill('SIGTERM');
        }),
    ),
  );
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Polls until `check` returns a value (not undefined), or fails with `what` after timeoutMs. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(150);
  }
}
