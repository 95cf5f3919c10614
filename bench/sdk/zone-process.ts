import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../../packages/server/dist/src/cli/main.js', import.meta.url));

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      server.close(() => resolve(address.port));
    });
  });
}

/** One `cairn server` replica (a single-node zone) on 127.0.0.1 with its data in a temp dir. */
export class ZoneProcess {
  private constructor(
    readonly url: string,
    private readonly proc: ChildProcess,
    private readonly dataDir: string,
  ) {}

  static async start(zone: string): Promise<ZoneProcess> {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), `cairn-bench-sdk-${zone}-`));
    const args = [CLI, 'server', '--zone', zone, '--node-id', 'n1', '--listen', `127.0.0.1:${port}`];
    const proc = spawn(process.execPath, [...args, '--data-dir', dataDir, '--log-level', 'warn'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const z = new ZoneProcess(`http://127.0.0.1:${port}`, proc, dataDir);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      try {
        if ((await fetch(`${z.url}/readyz`)).ok) return z;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    await z.stop();
    throw new Error(`cairn server for ${zone} not ready within 20 s`);
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
      this.proc.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }
}
