// One `cairn federation` process watching the benchmark's zones; REST on one port, DNS on another.
import { join } from 'node:path';
import { request } from 'undici';
import { freePorts } from '../raft/free-port.js';
import { ManagedProcess } from '../raft/managed-process.js';
import { type BenchZone, CLI_PATH } from './bench-zones.js';

export interface ZoneState {
  readonly zone: string;
  readonly state: string;
  readonly instances: number;
}

export class FederationNode {
  readonly process: ManagedProcess;
  readonly origin: string;
  readonly dnsPort: number;

  private constructor(process: ManagedProcess, origin: string, dnsPort: number) {
    this.process = process;
    this.origin = origin;
    this.dnsPort = dnsPort;
  }

  /** Starts the process; it is not ready yet (see zones()). */
  static async start(rootDir: string, name: string, zones: readonly BenchZone[]): Promise<FederationNode> {
    const [httpPort, dnsPort] = await freePorts(2);
    const args = [
      CLI_PATH,
      'federation',
      '--listen',
      `127.0.0.1:${httpPort}`,
      '--dns',
      `127.0.0.1:${dnsPort}`,
      '--log-level',
      'warn',
      ...zones.flatMap((z) => ['--zone', `${z.name}=${z.origins.join(',')}`]),
    ];
    const proc = new ManagedProcess({
      name,
      command: process.execPath,
      args,
      env: process.env,
      logPath: join(rootDir, `${name}.log`),
    });
    proc.start();
    return new FederationNode(proc, `http://127.0.0.1:${httpPort}`, dnsPort!);
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error(`${this.process.spec.name} is not running\n${this.process.logTail()}`);
    return pid;
  }

  /** The zones as GET /v1/zones reports them; throws while the process does not answer. */
  async zones(): Promise<ZoneState[]> {
    const res = await request(`${this.origin}/v1/zones`, { headersTimeout: 5000, bodyTimeout: 5000 });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET /v1/zones: HTTP ${res.statusCode}`);
    }
    return ((await res.body.json()) as { zones: ZoneState[] }).zones;
  }

  async stop(): Promise<void> {
    await this.process.stop();
  }
}
