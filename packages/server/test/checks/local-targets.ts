// Real TCP and HTTP servers on 127.0.0.1 for the health checks to probe, and an in-process
// single-replica zone server to register instances into.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/config/server-config.js';
import type { RegisterSpec } from '../../src/registry/commands.js';
import { type Check, checkSchema, DEFAULT_HEARTBEAT } from '../../src/registry/model.js';
import { type ApiPlugin, startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { freePort } from '../helpers/zone-cluster.js';

/** A TCP listener that can be stopped and started again on the same port. */
export class TcpTarget {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  accepted = 0;

  async start(): Promise<this> {
    const server = createTcpServer((s) => {
      this.accepted++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => {});
    });
    await listen(server, this.port);
    this.server = server;
    this.port = portOf(server);
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** An HTTP server answering every request with `status`, or never answering while `hang` is set. */
export class HttpTarget {
  private server: HttpServer | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;
  status = 200;
  hang = false;
  readonly paths: string[] = [];
  /** Connections open right now, and the most ever open at once. */
  open = 0;
  openMax = 0;

  async start(): Promise<this> {
    const server = createHttpServer((req, res) => {
      this.paths.push(req.url ?? '');
      if (this.hang) return; // never answer
      res.statusCode = this.status;
      res.end('checked');
    });
    server.on('connection', (s: Socket) => {
      this.open++;
      this.openMax = Math.max(this.openMax, this.open);
      this.sockets.add(s);
      s.on('close', () => {
        this.open--;
        this.sockets.delete(s);
      });
    });
    await listen(server, this.port);
    this.server = server;
    this.port = portOf(server);
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** A port nothing listens on (it was just free). */
export async function deadPort(): Promise<number> {
  const t = await new TcpTarget().start();
  await t.stop();
  return t.port;
}

function listen(server: Server | HttpServer, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function portOf(server: Server | HttpServer): number {
  const a = server.address();
  return typeof a === 'object' && a ? a.port : 0;
}

export function tcpCheck(over: Partial<Extract<Check, { type: 'tcp' }>> = {}): Check {
  return checkSchema.parse({ type: 'tcp', intervalMs: 200, timeoutMs: 300, rise: 2, fall: 2, ...over });
}

export function httpCheck(over: Partial<Extract<Check, { type: 'http' }>> = {}): Check {
  return checkSchema.parse({
    type: 'http',
    path: '/health',
    intervalMs: 200,
    timeoutMs: 300,
    rise: 2,
    fall: 2,
    ...over,
  });
}

/** A persistent instance on 127.0.0.1:port with the given check. */
export function instanceSpec(service: string, port: number, check: Check | null, over: Partial<RegisterSpec> = {}) {
  const spec: RegisterSpec = {
    namespace: 'public',
    group: 'DEFAULT_GROUP',
    service,
    cluster: 'DEFAULT',
    ip: '127.0.0.1',
    port,
    weight: 100,
    healthy: true,
    enabled: true,
    ephemeral: false,
    zone: 'az1',
    metadata: {},
    heartbeat: DEFAULT_HEARTBEAT,
    lease: null,
    check,
    ...over,
  };
  return spec;
}

/** A single-replica zone server in this process, on a free port, with its data in a temp dir. */
export async function startSingleServer(
  plugins: readonly ApiPlugin[] = [],
  args: readonly string[] = [],
): Promise<ZoneServer & { stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-checks-'));
  const config = loadServerConfig(
    [
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--data-dir',
      join(dir, 'n1'),
      '--log-level',
      'silent',
      '--tick-ms',
      '20',
      ...args,
    ],
    {},
  );
  const server = await startZoneServer(config, plugins).catch((err: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  });
  const stop = async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(() => server.registry.isLeader, 10_000, 'the single replica leads');
  } catch (err) {
    await stop();
    throw err;
  }
  return Object.assign(server, { stop });
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
