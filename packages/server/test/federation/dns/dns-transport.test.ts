// The transports with raw packets: garbage never stops the server, TCP framing, pipelining and
// bounds (connections, idle time, frame size), opcodes it does not serve.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import { pino } from 'pino';
import { startDnsServer } from '../../../src/federation/dns/dns-server.js';
import { type Fixture, startFixture } from './dns-test-kit.js';

function query(id: number, name: string, type: dnsPacket.RecordType = 'SRV', flags = 0): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags, questions: [{ type, name, class: 'IN' }] });
}

/** Sends one datagram; resolves with the reply, or null after `waitMs`. */
function udpExchange(port: number, packet: Buffer, waitMs = 300): Promise<Buffer | null> {
  const socket = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const timer = setTimeout(() => finish(null), waitMs);
    const finish = (reply: Buffer | null): void => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    };
    socket.on('message', (msg) => finish(msg));
    socket.send(packet, port, '127.0.0.1');
  });
}

/** A TCP client that collects framed replies. */
class TcpClient {
  readonly replies: Buffer[] = [];
  closed = false;
  private pending = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.pending = Buffer.concat([this.pending, chunk]);
      while (this.pending.length >= 2 && this.pending.length >= 2 + this.pending.readUInt16BE(0)) {
        const len = this.pending.readUInt16BE(0);
        this.replies.push(this.pending.subarray(2, 2 + len));
        this.pending = this.pending.subarray(2 + len);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }
  static connect(port: number): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => resolve(new TcpClient(s)));
      s.once('error', reject);
    });
  }
  send(...messages: Buffer[]): void {
    this.socket.write(Buffer.concat(messages.map((m) => Buffer.concat([u16(m.length), m]))));
  }
  /** Waits until `n` replies arrived or the connection closed (or `timeoutMs` passed). */
  async waitFor(n: number, timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length < n && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  close(): void {
    this.socket.destroy();
  }
  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}

/** Deterministic bytes (xorshift), so a failing case can be replayed. */
function garbage(seed: number, length: number): Buffer {
  let x = seed || 1;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

describe('dns transports', () => {
  let fx: Fixture;

  before(async () => {
    fx = await startFixture({ zones: ['az1'] }, { limits: { tcpConnectionsMax: 3, tcpIdleTimeoutMs: 300 } });
    fx.view.putInstance({ zone: 'az1', service: 'orders', ip: '10.1.0.1', port: 8080 });
  });
  after(() => fx.server.close());

  it('survives garbage over UDP: FORMERR when there is a header, silence otherwise, then answers', async () => {
    const before = fx.server.stats();
    const header = (id: number, qd: number, an = 0): Buffer =>
      Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, qd, 0, an, 0, 0, 0, 0]);
    const formerr: Buffer[] = [
      header(0x0101, 0), // no question
      header(0x0102, 5), // five questions that are not there
      Buffer.concat([header(0x0103, 1), Buffer.from([200, 1, 2, 3])]), // label runs past the end
      Buffer.concat([header(0x0104, 1), Buffer.from([0xc0, 12, 0, 1, 0, 1])]), // pointer loop
      Buffer.concat([header(0x0105, 1, 3), query(0, 'orders.service.cairn').subarray(12)]), // answers missing
    ];
    for (const packet of formerr) {
      const reply = await udpExchange(fx.port, packet);
      assert.ok(reply, `a FORMERR for ${packet.toString('hex')}`);
      const decoded = dnsPacket.decode(reply);
      assert.equal(decoded.id, packet.readUInt16BE(0));
      assert.equal((decoded as unknown as { rcode: string }).rcode, 'FORMERR');
    }
    const silent: Buffer[] = [
      Buffer.alloc(0),
      Buffer.from([1, 2, 3, 4, 5]),
      Buffer.from(dnsPacket.encode({ type: 'response', id: 9, questions: [{ type: 'A', name: 'x.cairn' }] })),
      Buffer.alloc(5000, 7), // over queryBytesMax
    ];
    for (const packet of silent) assert.equal(await udpExchange(fx.port, packet, 150), null);
    // Random bytes (answered or not) in one burst.
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
    for (let seed = 1; seed <= 300; seed++) socket.send(garbage(seed, 12 + (seed % 200)), fx.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 200));
    socket.close();
    const reply = await udpExchange(fx.port, query(77, '_orders._tcp.service.cairn'), 2000);
    assert.ok(reply, 'still answering');
    const decoded = dnsPacket.decode(reply);
    assert.equal(decoded.id, 77);
    assert.equal(decoded.answers?.length, 1);
    const s = fx.server.stats();
    assert.ok(s.malformed >= before.malformed + formerr.length, `malformed ${s.malformed}`);
    assert.ok(s.dropped >= before.dropped + silent.length, `dropped ${s.dropped}`);
    assert.equal(s.errors, 0);
  });

  it('answers NOTIMP to opcodes other than QUERY', async () => {
    for (const opcode of [1, 2, 5]) {
      const reply = await udpExchange(fx.port, query(90 + opcode, 'orders.service.cairn', 'A', opcode << 11));
      assert.ok(reply);
      const decoded = dnsPacket.decode(reply) as dnsPacket.DecodedPacket & { rcode: string; opcode: string };
      assert.equal(decoded.rcode, 'NOTIMP');
      assert.equal(decoded.id, 90 + opcode);
    }
  });

  it('answers many queries on one TCP connection, in order, however the bytes are split', async () => {
    const c = await TcpClient.connect(fx.port);
    try {
      c.send(query(1, '_orders._tcp.service.cairn'), query(2, 'nope.service.cairn', 'A'), query(3, 'example.org', 'A'));
      await c.waitFor(3);
      const got = c.replies.map((r) => dnsPacket.decode(r) as dnsPacket.DecodedPacket & { rcode: string });
      assert.deepEqual(
        got.map((r) => [r.id, r.rcode]),
        [
          [1, 'NOERROR'],
          [2, 'NXDOMAIN'],
          [3, 'REFUSED'],
        ],
      );
      // One frame delivered a byte at a time.
      const framed = Buffer.concat([
        u16(query(4, 'orders.service.cairn', 'A').length),
        query(4, 'orders.service.cairn', 'A'),
      ]);
      for (const byte of framed) {
        c.socket.write(Buffer.from([byte]));
        await new Promise((r) => setImmediate(r));
      }
      await c.waitFor(4);
      assert.equal(dnsPacket.decode(c.replies[3]!).id, 4);
      // Garbage after a query header gets an answer (FORMERR) and the connection stays usable.
      const junk = Buffer.concat([Buffer.from([0, 5, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0]), garbage(5, 40)]);
      c.send(junk, query(6, 'orders.service.cairn', 'A'));
      await c.waitFor(6);
      assert.deepEqual(
        c.replies.slice(4).map((r) => dnsPacket.decode(r).id),
        [5, 6],
      );
      assert.ok(!c.closed);
    } finally {
      c.close();
    }
  });

  it('refuses zone transfers', async () => {
    const c = await TcpClient.connect(fx.port);
    try {
      c.send(query(11, 'cairn', 'AXFR'));
      await c.waitFor(1);
      const r = dnsPacket.decode(c.replies[0]!) as dnsPacket.DecodedPacket & { rcode: string };
      assert.equal(r.rcode, 'REFUSED');
    } finally {
      c.close();
    }
  });

  it('closes a TCP connection that announces a frame larger than queries may be', async () => {
    const c = await TcpClient.connect(fx.port);
    c.socket.write(u16(60_000));
    await c.waitFor(1);
    assert.ok(c.closed);
  });

  it('closes idle TCP connections and holds at most tcpConnectionsMax', async () => {
    const idle = await TcpClient.connect(fx.port);
    await idle.waitFor(1, 3000);
    assert.ok(idle.closed, 'closed after the idle timeout');
    assert.ok(fx.server.stats().tcp.idleClosed >= 1);

    const rejectedBefore = fx.server.stats().tcp.rejected;
    const clients = await Promise.all([1, 2, 3, 4].map(() => TcpClient.connect(fx.port)));
    try {
      clients.forEach((c, i) => c.send(query(20 + i, 'orders.service.cairn', 'A')));
      await Promise.all(clients.map((c) => c.waitFor(1)));
      const answered = clients.filter((c) => c.replies.length === 1).length;
      assert.equal(answered, 3);
      assert.equal(clients.filter((c) => c.closed && c.replies.length === 0).length, 1);
      assert.equal(fx.server.stats().tcp.rejected, rejectedBefore + 1);
    } finally {
      for (const c of clients) c.close();
    }
  });

  it('shares one port between UDP and TCP, and refuses a port that is taken', async () => {
    const udp = await udpExchange(fx.port, query(30, 'orders.service.cairn', 'A'));
    assert.ok(udp);
    await assert.rejects(
      startDnsServer({
        view: fx.view,
        listen: `127.0.0.1:${fx.port}`,
        logger: pino({ level: 'silent' }),
      }),
      { code: 'EADDRINUSE' },
    );
    await assert.rejects(startDnsServer({ view: fx.view, listen: 'nonsense', logger: pino({ level: 'silent' }) }), {
      code: 'VALIDATION_FAILED',
    });
  });

  it('answers SERVFAIL when the view fails, and keeps serving', async () => {
    const broken = Object.create(fx.view, {
      service: {
        value: () => {
          throw new Error('view broke');
        },
      },
    }) as typeof fx.view;
    const server = await startDnsServer({ view: broken, listen: '127.0.0.1:0', logger: pino({ level: 'silent' }) });
    try {
      const reply = await udpExchange(server.port, query(50, 'orders.service.cairn', 'A'));
      assert.equal((dnsPacket.decode(reply!) as dnsPacket.DecodedPacket & { rcode: string }).rcode, 'SERVFAIL');
      const next = await udpExchange(server.port, query(51, '10-0-0-1.addr.cairn', 'A'));
      assert.equal(dnsPacket.decode(next!).answers?.length, 1);
      assert.equal(server.stats().errors, 1);
      assert.equal(server.stats().byRcode['SERVFAIL'], 1);
    } finally {
      await server.close();
    }
  });

  it('closes cleanly, twice', async () => {
    const other = await startFixture({ zones: ['az1'] });
    await Promise.all([other.server.close(), other.server.close()]);
    assert.equal(await udpExchange(other.port, query(40, 'orders.service.cairn', 'A'), 150), null);
  });
});
