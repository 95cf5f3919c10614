// Helpers for the federation's auth and TLS tests: one auth file shared by a zone and its
// federation (the test auth harness's users and tokens, plus the federation's zone token), an
// in-process single-replica zone with auth and optionally TLS, federation nodes started from flags,
// a raw WebSocket client that records every message, and `cairn` as a process with stdin.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import { type Dispatcher, request as undiciRequest } from 'undici';
import WebSocket from 'ws';
import { formatTokenHash } from '../../src/auth/static-tokens.js';
import { loadServerConfig } from '../../src/config/server-config.js';
import { loadFederationConfig } from '../../src/federation/config/federation-config.js';
import type { FederationPlugin } from '../../src/federation/federation-plugin.js';
import { type FederationServer, startFederationServer } from '../../src/federation/federation-server.js';
import type { ZoneWatcherTuning } from '../../src/federation/zones/zone-watcher.js';
import { startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { authFileContent, TOKENS, ZONE_PLUGINS } from '../auth/auth-harness.js';
import { CLI, freePort, sleep } from '../helpers/zone-cluster.js';

/** The federation's zone token: `read` on every namespace, as `all: true` watches need. */
export const ZONE_TOKEN = 'federation-zone-token-0123456789';
export const OPS = TOKENS.ops.token;
export const READ_ALPHA = TOKENS['read-alpha'].token;
export const WRITE_ALPHA = TOKENS['write-alpha'].token;

/** Watcher timings short enough that a refused zone shows as stale within a second. */
export const FAST_WATCH: Partial<ZoneWatcherTuning> = {
  connectTimeoutMs: 2000,
  staleAfterMs: 400,
  backoffBaseMs: 50,
  backoffMaxMs: 300,
};

/** Writes the shared auth file into `dir`; returns its path. */
export async function writeAuthFile(dir: string): Promise<string> {
  const content = await authFileContent();
  const tokens = content['tokens'] as Record<string, unknown>[];
  tokens.push({
    name: 'federation',
    tokenHash: formatTokenHash(ZONE_TOKEN),
    roles: [{ namespace: '*', role: 'read' }],
  });
  const path = join(dir, 'auth.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

export interface TestZone {
  readonly url: string;
  readonly server: ZoneServer;
  stop(): Promise<void>;
}

/** A single-replica zone `az1` with every API but the UI; `tls`: cert, key and CA files. */
export async function startZone(
  authFile: string,
  tls?: { readonly cert: string; readonly key: string; readonly ca: string },
): Promise<TestZone> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-fed-auth-zone-'));
  const port = await freePort();
  const args = ['--zone', 'az1', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')];
  args.push('--auth-file', authFile, '--log-level', 'silent', '--tick-ms', '20');
  if (tls) args.push('--tls-cert', tls.cert, '--tls-key', tls.key, '--tls-ca', tls.ca);
  let server: ZoneServer;
  try {
    server = await startZoneServer(loadServerConfig(args, {}), ZONE_PLUGINS, pino({ level: 'silent' }));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const stop = async (): Promise<void> => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!server.registry.isLeader) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the single replica did not become leader');
    }
    await sleep(10);
  }
  return { url: `${tls ? 'https' : 'http'}://${server.address}`, server, stop };
}

/** A federation node on 127.0.0.1:0 (DNS off) from flags; its log goes to `logger` (silent by default). */
export async function startFed(
  args: readonly string[],
  opts: { plugins?: readonly FederationPlugin[]; logger?: Logger; tuning?: Partial<ZoneWatcherTuning> } = {},
): Promise<FederationServer> {
  const config = loadFederationConfig(['--listen', '127.0.0.1:0', '--dns', 'off', ...args], {});
  return startFederationServer(config, opts.logger ?? pino({ level: process.env['CAIRN_TEST_LOG'] ?? 'silent' }), {
    plugins: opts.plugins ?? [],
    processMetrics: false,
    watcherTuning: { ...FAST_WATCH, ...opts.tuning },
  });
}

export interface Answer {
  readonly status: number;
  readonly text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read loosely
  readonly body: any;
}

/** An HTTP call (undici, so https with a test CA works); JSON in, JSON or text out. */
export async function api(
  method: string,
  url: string,
  o: { bearer?: string; json?: unknown; form?: Record<string, string>; dispatcher?: Dispatcher } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (o.bearer !== undefined) headers['authorization'] = `Bearer ${o.bearer}`;
  let body: string | undefined;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  }
  const res = await undiciRequest(url, {
    method: method as Dispatcher.HttpMethod,
    headers,
    ...(body !== undefined ? { body } : {}),
    ...(o.dispatcher ? { dispatcher: o.dispatcher } : {}),
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await res.body.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text (Nacos, Prometheus)
  }
  return { status: res.statusCode, text, body: parsed };
}

// biome-ignore lint/suspicious/noExplicitAny: watch messages are read field by field
export type Msg = Record<string, any>;

/** A raw watch socket that records every message; `status` is set when the upgrade is refused. */
export class Socket {
  readonly messages: Msg[] = [];
  private cursor = 0;
  private wake: (() => void) | null = null;
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      this.messages.push(JSON.parse(data.toString()) as Msg);
      this.wake?.();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake?.();
    });
    ws.on('error', () => {});
  }

  /** Opens `url` (ws:// or wss://); resolves with the socket, or the HTTP status of a refused upgrade. */
  static open(url: string, options: WebSocket.ClientOptions & { protocols?: string[] } = {}): Promise<Socket | number> {
    const { protocols, ...rest } = options;
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, protocols ?? [], rest);
      const socket = new Socket(ws);
      ws.once('open', () => resolve(socket));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
    });
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** The next message after the last one taken that matches. */
  async next(match: (m: Msg) => boolean, timeoutMs = 10_000): Promise<Msg> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      while (this.cursor < this.messages.length) {
        const m = this.messages[this.cursor++]!;
        if (match(m)) return m;
      }
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching message; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = null;
    }
  }

  close(): void {
    this.ws.terminate();
  }
}

export function bearerProtocol(token: string): string {
  return `cairn.bearer.${Buffer.from(token).toString('base64url')}`;
}

export interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `cairn <args>` as a process, with `stdin` written to it. */
export function cairn(args: readonly string[], env: NodeJS.ProcessEnv = {}, stdin = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc: ChildProcess = spawn(process.execPath, [CLI, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, CAIRN_SERVER: '', CAIRN_TOKEN: '', CAIRN_TLS_CA: '', ...env },
    });
    let stdout = '';
    let stderr = '';
    proc.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    proc.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    proc.stdin?.end(stdin);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000);
    proc.on('error', reject);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(25);
  }
}
