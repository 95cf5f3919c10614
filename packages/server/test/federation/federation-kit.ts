// Helpers for the federation core's tests: an in-process federation node over real zones, and small
// HTTP helpers. Every node listens on 127.0.0.1 with port 0 and DNS off unless a test asks.
import pino from 'pino';
import { loadFederationConfig } from '../../src/federation/config/federation-config.js';
import type { FederationPlugin } from '../../src/federation/federation-plugin.js';
import { type FederationServer, startFederationServer } from '../../src/federation/federation-server.js';
import type { ZoneWatcherTuning } from '../../src/federation/zones/zone-watcher.js';

export interface TestFederation extends FederationServer {
  readonly url: string;
}

export interface TestFederationOptions {
  /** Extra flags (`--policy drop`, `--merge locality`...). */
  readonly args?: readonly string[];
  readonly tuning?: Partial<ZoneWatcherTuning>;
  /** API plugins beyond REST (default none, so these tests exercise the core alone). */
  readonly plugins?: readonly FederationPlugin[];
}

export async function startFederation(
  zones: readonly { readonly zone: string; readonly urls: readonly string[] }[],
  opts: TestFederationOptions = {},
): Promise<TestFederation> {
  const args = [
    '--listen',
    '127.0.0.1:0',
    '--dns',
    'off',
    '--log-level',
    'silent',
    ...zones.flatMap((z) => ['--zone', `${z.zone}=${z.urls.join(',')}`]),
    ...(opts.args ?? []),
  ];
  const config = loadFederationConfig(args, {});
  const server = await startFederationServer(config, pino({ level: process.env['CAIRN_TEST_LOG'] ?? 'silent' }), {
    plugins: opts.plugins ?? [],
    processMetrics: false,
    ...(opts.tuning ? { watcherTuning: opts.tuning } : {}),
  });
  return { ...server, url: `http://${server.address}` };
}

export async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface JsonAnswer<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Headers;
}

export async function http<T = Record<string, unknown>>(
  method: string,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonAnswer<T>> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T, headers: res.headers };
}

/** Registers a persistent instance in a zone (through any replica: writes reach the leader). */
export async function register(
  zoneUrl: string,
  service: string,
  ip: string,
  extra: Record<string, unknown> = {},
): Promise<void> {
  const res = await http('POST', `${zoneUrl}/v1/instances`, { service, ip, port: 8080, ephemeral: false, ...extra });
  if (res.status !== 200) throw new Error(`register ${service} ${ip} at ${zoneUrl}: ${JSON.stringify(res.body)}`);
}

export const ORDERS = { namespace: 'public', group: 'DEFAULT_GROUP', service: 'orders' } as const;
