import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import type { Registry } from '../registry.js';

/** What one demo instance answers about itself. */
export interface DemoIdentity {
  readonly service: string;
  readonly zone: string;
  readonly instance: string;
  readonly version: string;
}

/** A service a demo instance calls on `GET /call` through the SDK's Dispatcher (zone-first picking). */
export interface DemoCall {
  readonly service: string;
  readonly path: string;
}

const CALL_TIMEOUT_MS = 3000;
/** A demo answers small JSON documents; a downstream answer larger than this is cut off. */
const CALL_ANSWER_BYTES_MAX = 64 * 1024;

/**
 * One demo instance: a tiny HTTP server on `ip`, port chosen by the kernel. Every path answers the
 * instance's identity as JSON; `GET /call` (when `calls` is given) also calls that service through
 * `registry.dispatcher()` and includes its answer, so `curl <orders>/call` shows which zone served.
 */
export async function startDemoServer(opts: {
  readonly ip: string;
  readonly identity: Omit<DemoIdentity, 'instance'>;
  readonly registry: Registry;
  readonly calls?: DemoCall;
}): Promise<{ readonly port: number; readonly server: Server }> {
  let identity: DemoIdentity = { ...opts.identity, instance: '' };
  const server = createServer((req, res) => {
    req.resume();
    void answer(req, res, identity, opts.registry, opts.calls);
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5000;
  server.maxConnections = 256;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.ip, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  identity = { ...identity, instance: `${opts.ip.includes(':') ? `[${opts.ip}]` : opts.ip}:${port}` };
  return { port, server };
}

async function answer(
  req: IncomingMessage,
  res: ServerResponse,
  identity: DemoIdentity,
  registry: Registry,
  calls: DemoCall | undefined,
): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (path === '/healthz') return send(res, 200, { status: 'ok' });
  if (path !== '/call' || !calls) return send(res, 200, identity);
  try {
    const downstream = await request(`http://${calls.service}${calls.path}`, {
      dispatcher: registry.dispatcher(),
      headersTimeout: CALL_TIMEOUT_MS,
      bodyTimeout: CALL_TIMEOUT_MS,
    });
    const text = (await downstream.body.text()).slice(0, CALL_ANSWER_BYTES_MAX);
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not JSON: relay the text.
    }
    send(res, 200, { ...identity, called: { service: calls.service, status: downstream.statusCode, answer: body } });
  } catch (err) {
    send(res, 502, { ...identity, error: `calling ${calls.service} failed: ${(err as Error).message}` });
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) return;
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify(body)}\n`);
}
