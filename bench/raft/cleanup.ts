import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

// Last-resort bookkeeping: whatever the orchestrator started is killed and removed here even when
// it dies on an exception or a signal, so no replica or etcd member outlives a run.
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

export function removeTempDir(dir: string): void {
  // Retries because a just-killed server may still be closing files in it.
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  tempDirs.delete(dir);
}

/** Synchronous so that it also works from process.on('exit'). */
export function killEverythingNow(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  for (const dir of tempDirs) {
    try {
      removeTempDir(dir);
    } catch (error) {
      process.stderr.write(`could not remove ${dir}: ${String(error)}\n`);
    }
  }
}

const signalExitCodes: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

export function installCleanupHandlers(): void {
  process.once('exit', killEverythingNow);
  for (const [signal, exitCode] of Object.entries(signalExitCodes)) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}, stopping servers and removing temp dirs\n`);
      killEverythingNow();
      process.exit(exitCode);
    });
  }
}
