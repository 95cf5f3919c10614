import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { detectIp } from '../src/ip-detect.js';

describe('detectIp', () => {
  it('takes the local address of a connection to a reachable registry server', async (t) => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => server.close());
    const port = (server.address() as { port: number }).port;
    assert.equal(await detectIp([`http://127.0.0.1:${port}`]), '127.0.0.1');
  });

  it('falls back to an interface address when no server answers', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const ip = await detectIp([`http://127.0.0.1:${port}`], 300);
    assert.match(ip, /^\d+\.\d+\.\d+\.\d+$/);
  });
});
