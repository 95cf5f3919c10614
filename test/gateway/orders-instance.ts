// One tiny `orders` instance for the HAProxy end-to-end test, run as its own process so that the test
// can SIGKILL it: an HTTP server on 127.0.0.1 that answers every request with its id, registered in
// its zone's registry (native REST) and kept alive by heartbeats sent from this same process. When the
// process dies its heartbeats stop, and only the registry (lease -> unhealthy -> expired) removes it.
//
//   node orders-instance.js <id> <ip> <replica-url,replica-url,...>
//
// <ip> is a loopback address of its own (127.0.0.0/8 is all loopback on Linux), as each instance has
// its own address in production.
// Prints `ready <port>` on stdout once registered.
import { createServer } from 'node:http';

const [id, ip, replicaList] = process.argv.slice(2);
if (!id || !ip || !replicaList) {
  process.stderr.write('usage: orders-instance <id> <ip> <replica-url,...>\n');
  process.exit(2);
}
const replicas = replicaList.split(',');

/**
 * A short lease: a killed instance turns unhealthy (and leaves DNS) about 1 s after its last beat, and
 * HAProxy takes up to ~3 s more (re-resolution every 1 s, then `hold obsolete 1s`), inside the 5 s asked.
 */
const HEARTBEAT = { intervalMs: 250, unhealthyAfterMs: 1000, expireAfterMs: 4000 } as const;
const REQUEST_TIMEOUT_MS = 1000;

const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(id) });
  res.end(id);
});
server.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => server.listen(0, ip, resolve));
const address = server.address();
const port = typeof address === 'object' && address ? address.port : 0;
const key = { service: 'orders', ip, port };

let next = 0;
/** Sends to the replicas in turn until one answers (any HTTP status); null when none does. */
async function send(method: 'POST' | 'PUT', path: string, body: unknown): Promise<number | null> {
  for (let i = 0; i < replicas.length; i++) {
    const url = replicas[(next + i) % replicas.length]!;
    try {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      await res.arrayBuffer();
      if (res.status >= 500) continue;
      next = (next + i) % replicas.length;
      return res.status;
    } catch {
      // this replica is down: the next one
    }
  }
  return null;
}

async function register(): Promise<boolean> {
  const status = await send('POST', '/v1/instances', { ...key, ephemeral: true, heartbeat: HEARTBEAT });
  return status !== null && status < 300;
}

while (!(await register())) await new Promise((r) => setTimeout(r, 200));
process.stdout.write(`ready ${port}\n`);

// Heartbeats; NOT_FOUND (expired) registers again. With every replica down the beats just fail.
const beat = async (): Promise<void> => {
  const status = await send('PUT', '/v1/instances/heartbeat', key);
  if (status === 404) await register();
};
let beating = false;
setInterval(() => {
  if (beating) return;
  beating = true;
  beat().finally(() => {
    beating = false;
  });
}, HEARTBEAT.intervalMs);
process.on('SIGTERM', () => process.exit(0));
// The test holds our stdin open: when it dies, however it dies, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
