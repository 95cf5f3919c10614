// A benchmark instance as its own process: an HTTP server on 127.0.0.1 registered through the SDK.
// argv: <zone> <server url> <service>. Prints `{ "port": n }` once registered. SIGTERM deregisters
// (the SDK's signal hook), SIGKILL leaves the lease to run out.
import { createServer } from 'node:http';
import { connect } from '@cairn/client-sdk';

const [zone, server, service] = process.argv.slice(2);
if (!zone || !server || !service) throw new Error('usage: instance <zone> <server> <service>');
const http = createServer((req, res) => {
  req.resume();
  res.end('ok');
});
http.keepAliveTimeout = 60_000;
await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
const port = (http.address() as { port: number }).port;
const registry = await connect({
  zone,
  servers: [server],
  cacheDir: null,
  ip: '127.0.0.1',
  deregisterOnSignals: ['SIGTERM'],
});
await registry.register({ service, port });
process.stdout.write(`${JSON.stringify({ port })}\n`);
