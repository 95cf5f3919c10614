// Starts one in-process single-node zone server with the native API (port 0, level data in a temp
// dir) and gives tests a small JSON client for it. Always stopped by the caller (t.after / after).
import { createNativeApi, type NativeApiOptions } from '../../../src/api/native/native-api.js';
import type { ZoneServer } from '../../../src/server/zone-server.js';
import { startTestServer } from '../../helpers/test-server.js';

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
  const { url, server, stop } = await startTestServer([createNativeApi(options)], zone);
  return { url, server, call: (method, path, body) => call(url, method, path, body), stop };
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
