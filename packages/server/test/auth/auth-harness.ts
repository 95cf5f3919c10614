// A zone server with authentication on, for the auth tests: an auth file written to a temp dir (cheap
// scrypt costs, so logins are fast), one in-process single-node replica on 127.0.0.1 with every API
// surface but the admin UI, and small HTTP and WebSocket clients that present credentials.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from 'pino';
import pino from 'pino';
import type WebSocket from 'ws';
import { nacosApi } from '../../src/api/nacos/nacos-plugin.js';
import { nativeApi } from '../../src/api/native/native-api.js';
import { pushApi } from '../../src/api/watch/push-plugin.js';
import { hashPassword } from '../../src/auth/password-hash.js';
import { formatTokenHash } from '../../src/auth/static-tokens.js';
import { loadServerConfig } from '../../src/config/server-config.js';
import { metricsPlugin } from '../../src/metrics/metrics-plugin.js';
import {
  type SessionClientMessageInput,
  type SessionServerMessage,
  sessionServerMessageSchema,
  type WatchClientMessageInput,
  type WatchServerMessage,
  watchServerMessageSchema,
} from '../../src/protocol/index.js';
import { type ApiPlugin, startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { PushClient } from '../api/watch/push-client.js';
import { freePort, sleep } from '../helpers/zone-cluster.js';

export const TOKEN_SECRET = 'test-token-secret-0123456789-0123456789';

/** Users (password = `${username}-password`) and static tokens of the test auth file. */
export const USERS = {
  reader: [{ namespace: 'alpha', role: 'read' }],
  writer: [{ namespace: 'alpha', role: 'write' }],
  root: [{ namespace: '*', role: 'admin' }],
} as const;
export const TOKENS = {
  'read-alpha': { token: 'read-alpha-token-0123456789', roles: [{ namespace: 'alpha', role: 'read' }] },
  'write-alpha': { token: 'write-alpha-token-0123456789', roles: [{ namespace: 'alpha', role: 'write' }] },
  ops: { token: 'ops-admin-token-0123456789', roles: [{ namespace: '*', role: 'admin' }] },
} as const;

export function passwordOf(username: string): string {
  return `${username}-password`;
}

/** The auth file's content: users hashed at scrypt's cheapest cost, tokens by their hashes. */
export async function authFileContent(extra: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const users = await Promise.all(
    Object.entries(USERS).map(async ([username, roles]) => ({
      username,
      passwordHash: await hashPassword(passwordOf(username), { logN: 10, r: 8, p: 1 }),
      roles,
    })),
  );
  const tokens = Object.entries(TOKENS).map(([name, t]) => ({
    name,
    tokenHash: formatTokenHash(t.token),
    roles: t.roles,
  }));
  return { tokenSecret: TOKEN_SECRET, users, tokens, ...extra };
}

export const ZONE_PLUGINS: readonly ApiPlugin[] = [nativeApi, nacosApi, metricsPlugin, pushApi()];

export interface AuthServer {
  readonly url: string;
  readonly server: ZoneServer;
  stop(): Promise<void>;
}

export interface AuthServerOptions {
  readonly plugins?: readonly ApiPlugin[];
  /** Receives the server's log (at info level); silent by default. */
  readonly logger?: Logger;
  /** Start with `--peers` naming only this replica (the production shape, as far as warnings go). */
  readonly peers?: boolean;
}

/** A single-node replica with `auth` as its auth file (null: auth off). */
export async function startAuthServer(
  auth: Record<string, unknown> | null,
  opts: AuthServerOptions = {},
): Promise<AuthServer> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-auth-'));
  const port = await freePort();
  const args = ['--zone', 'az1', '--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')];
  if (auth) {
    writeFileSync(join(dir, 'auth.json'), JSON.stringify(auth));
    args.push('--auth-file', join(dir, 'auth.json'));
  }
  if (opts.peers) args.push('--peers', `n1=127.0.0.1:${port}`);
  const config = loadServerConfig([...args, '--log-level', 'silent', '--tick-ms', '20'], {});
  let server: ZoneServer;
  try {
    server = await startZoneServer(config, opts.plugins ?? ZONE_PLUGINS, ...(opts.logger ? [opts.logger] : []));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!server.registry.isLeader) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the single node did not become leader');
    }
    await sleep(10);
  }
  return { url: `http://${server.address}`, server, stop };
}

/** A logger that keeps every line (parsed), for tests that read what the server logged. */
export function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines };
}

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: test answers are read loosely
  readonly body: any;
}

export interface CallOptions {
  readonly bearer?: string | undefined;
  readonly json?: unknown;
  readonly form?: Record<string, string>;
  readonly headers?: Record<string, string>;
}

export async function call(base: string, method: string, path: string, o: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.bearer !== undefined) headers.authorization = `Bearer ${o.bearer}`;
  let body: string | undefined;
  if (o.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.form !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(o.form).toString();
  }
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // plain text (Nacos, Prometheus)
  }
  return { status: res.status, text, headers: res.headers, body: parsed };
}

/** Logs in through the native API; returns the access token. */
export async function login(base: string, username: string, password = passwordOf(username)): Promise<string> {
  const a = await call(base, 'POST', '/v1/auth/login', { json: { username, password } });
  if (a.status !== 200) throw new Error(`login of ${username} failed: ${a.status} ${a.text}`);
  return a.body.accessToken as string;
}

export type WatchClient = PushClient<WatchServerMessage, WatchClientMessageInput>;
export type SessionClient = PushClient<SessionServerMessage, SessionClientMessageInput>;

/** A watch socket, or the HTTP status its upgrade was refused with. */
export function openWatch(base: string, bearer?: string, query = ''): Promise<WatchClient | number> {
  return refusedOr(PushClient.connect(`${wsBase(base)}/v1/watch${query}`, watchServerMessageSchema, optionsOf(bearer)));
}

/** A session socket, or the HTTP status its upgrade was refused with. */
export function openSession(base: string, bearer?: string): Promise<SessionClient | number> {
  return refusedOr(PushClient.connect(`${wsBase(base)}/v1/session`, sessionServerMessageSchema, optionsOf(bearer)));
}

function wsBase(base: string): string {
  return base.replace(/^http/, 'ws');
}

function optionsOf(bearer: string | undefined): WebSocket.ClientOptions {
  return bearer ? { headers: { authorization: `Bearer ${bearer}` } } : {};
}

async function refusedOr<T>(connecting: Promise<T>): Promise<T | number> {
  try {
    return await connecting;
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    if (typeof status === 'number') return status;
    throw err;
  }
}
