import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';

const FIXTURE = fileURLToPath(new URL('../fixtures/instance-process.js', import.meta.url));

/** An instance running as its own process (see fixtures/instance-process.ts). */
export interface InstanceProcess {
  readonly zone: string;
  readonly port: number;
  readonly proc: ChildProcess;
  /** SIGKILL: the process dies without deregistering; its lease runs out. */
  kill(): Promise<void>;
  /** SIGTERM: the SDK deregisters it at once; resolves with how the process ended. */
  stop(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startInstanceProcess(
  zone: string,
  servers: readonly string[],
  service: string,
  metadata: Record<string, string> = {},
): Promise<InstanceProcess> {
  const proc = spawn(process.execPath, [FIXTURE, zone, servers.join(','), service, JSON.stringify(metadata)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stderr?.on('data', (b: Buffer) => {
    err = (err + b.toString()).slice(-4000);
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance did not register within 15 s\n${err}`)), 15_000);
    proc.stdout?.on('data', (b: Buffer) => {
      out += b.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`instance exited (${code}) before registering\n${err}`));
    });
  });
  const end = async (signal: NodeJS.Signals) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, signal: proc.signalCode };
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (code, sig) => resolve({ code, signal: sig })),
    );
    proc.kill(signal);
    return exited;
  };
  return {
    zone,
    port,
    proc,
    kill: async () => {
      await end('SIGKILL');
    },
    stop: () => end('SIGTERM'),
  };
}

/** An HTTP server on 127.0.0.1 answering `{ "port", "name" }`, for in-process instances. */
export interface TestServer {
  readonly port: number;
  readonly server: Server;
  hits: number;
  close(): Promise<void>;
}

export async function startTestServer(name: string): Promise<TestServer> {
  const t: { port: number; server: Server; hits: number; close(): Promise<void> } = {
    port: 0,
    hits: 0,
    server: createServer((req, res) => {
      t.hits++;
      req.resume();
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ port: t.port, name, path: req.url, method: req.method }));
    }),
    close: () =>
      new Promise<void>((resolve) => {
        t.server.close(() => resolve());
        t.server.closeAllConnections();
      }),
  };
  await new Promise<void>((resolve) => t.server.listen(0, '127.0.0.1', resolve));
  t.port = (t.server.address() as { port: number }).port;
  return t;
}

export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A logger for the SDK under test: silent unless CAIRN_TEST_LOG is set. */
export function testLogger(name: string) {
  const on = process.env.CAIRN_TEST_LOG !== undefined;
  const t0 = Date.now();
  const log = (level: string) => (obj: object, msg: string) => {
    if (on)
      process.stderr.write(`${((Date.now() - t0) / 1000).toFixed(2)} ${name} ${level} ${msg} ${JSON.stringify(obj)}\n`);
  };
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
