// Starts one in-process single-node zone server with the Nacos API (127.0.0.1, level data in a temp
// dir) and sends requests the way Nacos clients do. Always stopped by the caller (t.after / after).
import { createNacosApi, type NacosApiOptions } from '../../../src/api/nacos/nacos-plugin.js';
import type { ZoneServer } from '../../../src/server/zone-server.js';
import { startTestServer } from '../../helpers/test-server.js';
import { sleep } from '../../helpers/zone-cluster.js';

/** The headers the Node client (`nacos` 2.6.3) sends on every request. */
export const NODE_CLIENT_HEADERS = {
  'User-Agent': 'Nacos-Java-Client:v1.0.0',
  'Client-Version': 'Nacos-Java-Client:v1.0.0',
  'Accept-Encoding': 'gzip,deflate,sdch',
  'Request-Module': 'Naming',
  RequestId: '8c3e2a52-5a8e-4d3e-9f8e-0a1b2c3d4e5f',
} as const;

/** The headers a Java 1.x client sends, with its parameters in a form body. */
export const JAVA_CLIENT_HEADERS = {
  'User-Agent': 'Nacos-Java-Client:v1.4.6',
  'Client-Version': 'Nacos-Java-Client:v1.4.6',
  'Request-Module': 'Naming',
  'Content-Type': 'application/x-www-form-urlencoded;charset=UTF-8',
} as const;

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  json<T = Record<string, unknown>>(): T;
}

export type Params = Record<string, string | number | boolean>;

export interface NacosServer {
  readonly url: string;
  readonly server: ZoneServer;
  /** As the Node client: every parameter in the query string, no body, whatever the method. */
  node(method: string, path: string, params?: Params): Promise<Answer>;
  /** As the Java 1.x client: `query` in the query string, `form` in a urlencoded body. */
  java(method: string, path: string, query: Params, form: Params): Promise<Answer>;
  stop(): Promise<void>;
}

export async function startNacosServer(options: NacosApiOptions = {}, zone = 'az1'): Promise<NacosServer> {
  const { url, server, stop } = await startTestServer([createNacosApi(options)], zone);
  return {
    url,
    server,
    node: (method, path, params = {}) => send(`${url}${path}${queryOf(params)}`, method, NODE_CLIENT_HEADERS),
    java: (method, path, query, form) =>
      send(
        `${url}${path}${queryOf(query)}`,
        method,
        JAVA_CLIENT_HEADERS,
        new URLSearchParams(strings(form)).toString(),
      ),
    stop,
  };
}

function strings(params: Params): Record<string, string> {
  return Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)]));
}

function queryOf(params: Params): string {
  const q = new URLSearchParams(strings(params)).toString();
  return q === '' ? '' : `?${q}`;
}

async function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    text,
    headers: res.headers,
    json: <T>() => JSON.parse(text) as T,
  };
}

export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

/** An instance as `instance/list` returns it. */
export interface Host {
  instanceId: string;
  ip: string;
  port: number;
  weight: number;
  healthy: boolean;
  enabled: boolean;
  ephemeral: boolean;
  clusterName: string;
  serviceName: string;
  metadata: Record<string, string>;
  instanceHeartBeatInterval: number;
  instanceHeartBeatTimeOut: number;
  ipDeleteTimeout: number;
  instanceIdGenerator: string;
}

export interface InstanceList {
  name: string;
  groupName: string;
  clusters: string;
  cacheMillis: number;
  hosts: Host[];
  lastRefTime: number;
  checksum: string;
  allIPs: boolean;
  reachProtectionThreshold: boolean;
  valid: boolean;
}
