import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The child processes of `cairn dev`, in tiers stopped in order: demo services first (they
 * deregister while their zone still runs), then the federation, then the replicas. Each child:
 * - runs in its own process group, so a terminal's Ctrl-C reaches only `cairn dev`, which then
 *   stops the children in that order;
 * - preloads parent-watch.js, so it stops itself if `cairn dev` dies;
 * - writes its output to its own log file.
 */

export type Tier = 'demo' | 'federation' | 'replica';

const STOP_ORDER: readonly Tier[] = ['demo', 'federation', 'replica'];

/** How long each tier has to exit after SIGTERM before SIGKILL. */
export const STOP_TIMEOUT_MS: Readonly<Record<Tier, number>> = { demo: 5000, federation: 5000, replica: 10_000 };

const PARENT_WATCH = new URL('./parent-watch.js', import.meta.url).href;

export interface ChildSpec {
  readonly name: string;
  readonly tier: Tier;
  /** Arguments to node: the script and its arguments. */
  readonly args: readonly string[];
  readonly logFile: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Receives each stdout line (which still goes to the log); without it stdout goes only to the log. */
  readonly onLine?: (line: string) => void;
}

export interface DevChild {
  readonly name: string;
  readonly tier: Tier;
  readonly logFile: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  readonly running: boolean;
}

export class DevProcesses {
  private readonly children: DevChild[] = [];
  private stopping = false;

  /** `onUnexpectedExit` hears of a child that exits while not being stopped. */
  constructor(private readonly onUnexpectedExit: (child: DevChild, how: string) => void) {}

  start(spec: ChildSpec): DevChild {
    const log = openSync(spec.logFile, 'a');
    let proc: ChildProcess;
    try {
      writeSync(log, `\n--- cairn dev: starting ${spec.name} at ${new Date().toISOString()}\n`);
      proc = spawn(process.execPath, ['--import', PARENT_WATCH, ...spec.args], {
        detached: true,
        stdio: ['ignore', spec.onLine ? 'pipe' : log, log],
        // Read by parent-watch.ts.
        env: { ...(spec.env ?? process.env), CAIRN_DEV_PARENT_PID: String(process.pid) },
      });
    } finally {
      closeSync(log);
    }
    if (proc.pid === undefined) throw new Error(`cannot start ${spec.name}`);
    if (spec.onLine && proc.stdout) {
      const copy = openSync(spec.logFile, 'a');
      const onLine = spec.onLine;
      const lines = createInterface({ input: proc.stdout, crlfDelay: Number.POSITIVE_INFINITY });
      lines.on('line', (line) => {
        writeSync(copy, `${line}\n`);
        onLine(line);
      });
      lines.once('close', () => closeSync(copy));
    }
    let running = true;
    const exited = new Promise<void>((resolve) => {
      const ended = (how: string) => {
        if (!running) return;
        running = false;
        if (!this.stopping) this.onUnexpectedExit(child, how);
        resolve();
      };
      proc.once('exit', (code, signal) => ended(signal ?? `code ${code}`));
      // A failed kill: the exit (if any) still comes as 'exit'.
      proc.on('error', () => {});
    });
    const child: DevChild = {
      name: spec.name,
      tier: spec.tier,
      logFile: spec.logFile,
      proc,
      pid: proc.pid,
      exited,
      get running() {
        return running;
      },
    };
    this.children.push(child);
    return child;
  }

  get all(): readonly DevChild[] {
    return this.children;
  }

  /** Stops every child, tier by tier; `progress` hears each tier as it starts stopping. */
  async stopAll(progress: (tier: Tier, count: number) => void = () => {}): Promise<void> {
    this.stopping = true;
    for (const tier of STOP_ORDER) {
      const group = this.children.filter((c) => c.tier === tier && c.running);
      if (group.length === 0) continue;
      progress(tier, group.length);
      await Promise.all(group.map((c) => stopChild(c, STOP_TIMEOUT_MS[tier])));
    }
  }

  /** SIGKILL every child now (a second Ctrl-C), and wait for them to be gone. */
  async killAll(): Promise<void> {
    this.stopping = true;
    const live = this.children.filter((c) => c.running);
    for (const c of live) c.proc.kill('SIGKILL');
    await Promise.all(live.map((c) => c.exited));
  }
}

async function stopChild(child: DevChild, timeoutMs: number): Promise<void> {
  if (!child.running) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
  await child.exited;
  clearTimeout(timer);
}
