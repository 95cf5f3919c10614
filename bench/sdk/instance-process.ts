import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./instance.js', import.meta.url));

/** A running instance process (see instance.ts). */
export class InstanceProcess {
  private constructor(
    readonly port: number,
    private readonly proc: ChildProcess,
  ) {}

  static async start(zone: string, server: string, service: string): Promise<InstanceProcess> {
    const proc = spawn(process.execPath, [SCRIPT, zone, server, service], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      proc.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const nl = out.indexOf('\n');
        if (nl >= 0) resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      });
      proc.once('exit', (code) => reject(new Error(`instance exited (${code}) before registering`)));
    });
    return new InstanceProcess(port, proc);
  }

  /** Sends the signal and resolves once the process has exited. */
  async end(signal: NodeJS.Signals): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.kill(signal);
    await exited;
  }
}
