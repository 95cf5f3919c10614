// Starts one in-process single-node zone server with the native API (port 0, level data in a temp
// dir) and gives tests a small JSON client for it. Always stopped by the caller (t.after / after).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNativeApi, type NativeApiOptions } from '../../../src/api/native/native-api.js';
import { loadServerConfig } from '../../../src/config/server-config.js';
import { startZoneServer, type ZoneServer } from '../../../src/server/zone-server.js';
import { freePort } from '../../helpers/zone-cluster.js';

export interface Answer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export interface NativeServer {
  readonly url: string;
  readonly server: ZoneServer;
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<Answer<T>>;
  stop(): Promise<void>;
}

export async function startNativeServer(options: NativeApiOptions = {}, zone = 'az1'): Promise<NativeServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-native-'));
  // Not port 0: Raft refuses to advertise port 0, even for a single node.
  const port = await freePort();
  const config = loadServerConfig(
    [
      '--zone',
      zone,
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      dataDir,
      '--log-level',
      'silent',
      '--tick-ms',
      '20',
    ],
    {},
  );
  let server: ZoneServer;
  try {
    server = await startZoneServer(config, [createNativeApi(options)]);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  const url = `http://${server.address}`;
  let stopped = false;
  const native: NativeServer = {
    url,
    server,
    call: (method, path, body) => call(url, method, path, body),
    async stop() {
      if (stopped) return;
      stopped = true;
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  try {
    await until(() => server.registry.isLeader, 10_000, 'the single node did not become leader');
  } catch (err) {
    await native.stop();
    throw err;
  }
  return native;
}

export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<Answer<T>> {
  const res = await fetch(base + path, {
    method,
    ...(body !== undefined
      ? {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }
      : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (the docs page): keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A register body for a persistent instance (no lease, so no health transitions during a test). */
export function persistent(
  service: string,
  port: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { service, ip: '10.0.0.1', port, ephemeral: false, ...extra };
}

/** The query string naming an instance. */
export function instanceQuery(service: string, port: number, extra: Record<string, string> = {}): string {
  return `?${new URLSearchParams({ service, ip: '10.0.0.1', port: String(port), ...extra }).toString()}`;
}

export interface FieldErrorBody {
  readonly code: string;
  readonly message: string;
  readonly fields?: readonly { field: string; message: string }[];
}
