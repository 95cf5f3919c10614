#!/usr/bin/env node
// A tiny demo service for deploy/compose: an HTTP server that registers itself in its zone's cairn
// registry with plain REST calls (no SDK), keeps its lease alive with heartbeats, and deregisters on
// SIGTERM. Every answer says which instance and zone served it, so traffic through HAProxy is visible:
//
//   curl -s localhost:8080/     # {"service":"orders","zone":"az1","instance":"…","ip":"172.…","port":8080}
//
// Settings (env):
//   REGISTRY_URLS   the zone's replicas, comma-separated (http://az1-n1:8848,http://az1-n2:8848,...)
//   SERVICE_NAME    the service to register as (default orders)
//   PORT            the port to serve and register (default 8080)
//   ADVERTISE_IP    the address to register (default: this container's first non-loopback IPv4)
//   REGISTRY_TOKEN  a bearer token, when the registry requires authentication
import { createServer } from 'node:http';
import { hostname, networkInterfaces } from 'node:os';

const urls = (process.env.REGISTRY_URLS ?? 'http://127.0.0.1:8848')
  .split(',')
  .map((u) => u.trim().replace(/\/+$/, ''))
  .filter((u) => u !== '');
const service = process.env.SERVICE_NAME ?? 'orders';
const port = Number(process.env.PORT ?? 8080);
const ip = process.env.ADVERTISE_IP ?? firstIpv4();
const token = process.env.REGISTRY_TOKEN;
const REQUEST_TIMEOUT_MS = 2000;
const RETRY_MS = 1000;

let current = 0; // index of the replica we talk to; moves on when one fails
let zone = 'unknown';
let intervalMs = 1000;
let stopping = false;
let timer = null;

function firstIpv4() {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function log(msg) {
  process.stdout.write(`${new Date().toISOString()} ${service} ${ip}:${port} ${msg}\n`);
}

/** One call to the current replica; on a network error or 5xx the next replica is tried next time. */
async function call(method, path, body) {
  const base = urls[current % urls.length];
  const headers = body === undefined ? {} : { 'content-type': 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  try {
    const res = await fetch(`${base}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const json = await res.json().catch(() => ({}));
    if (res.status >= 500) current++;
    return { status: res.status, json };
  } catch (err) {
    current++;
    return { status: 0, json: { message: err instanceof Error ? err.message : String(err) } };
  }
}

async function register() {
  const res = await call('POST', '/v1/instances', {
    service,
    ip,
    port,
    ephemeral: true,
    metadata: { demo: 'true', host: hostname() },
  });
  if (res.status !== 200) {
    log(`registration failed (${res.status}): ${res.json.message ?? ''}; retrying`);
    return false;
  }
  zone = res.json.instance?.zone ?? zone;
  intervalMs = res.json.instance?.heartbeat?.intervalMs ?? intervalMs;
  log(`registered in zone ${zone} (heartbeat every ${intervalMs} ms)`);
  return true;
}

let registered = false;
async function tick() {
  if (stopping) return;
  if (!registered) {
    registered = await register();
  } else {
    const res = await call('PUT', '/v1/instances/heartbeat', { service, ip, port });
    if (res.status === 404) {
      log('the registry no longer holds this instance; registering again');
      registered = await register();
    } else if (res.status === 200) {
      intervalMs = res.json.heartbeatIntervalMs ?? intervalMs;
    } else {
      log(`heartbeat failed (${res.status}): ${res.json.message ?? ''}`);
    }
  }
  if (!stopping) timer = setTimeout(tick, registered ? intervalMs : RETRY_MS);
}

const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify({ service, zone, instance: hostname(), ip, port, path: req.url })}\n`);
});

async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  clearTimeout(timer);
  log(`${signal}: deregistering`);
  if (registered) {
    const q = new URLSearchParams({ service, ip, port: String(port) });
    await call('DELETE', `/v1/instances?${q}`);
  }
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

server.listen(port, '0.0.0.0', () => {
  log(`listening; registering with ${urls.join(', ')}`);
  void tick();
});
