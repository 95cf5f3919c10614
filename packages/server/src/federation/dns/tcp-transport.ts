import net from 'node:net';
import type { DnsLimits } from './dns-limits.js';
import type { DnsStats } from './dns-stats.js';
import type { QueryHandler } from './query-handler.js';

/**
 * DNS over TCP (RFC 7766): each message is framed by a 2-byte length; a client may send many
 * queries on one connection (answered in order). Bounded: connections, query size, idle time, and
 * answers queued for a client that does not read.
 */
export interface TcpListener {
  close(): Promise<void>;
}

export async function listenTcp(
  address: string,
  port: number,
  handler: QueryHandler,
  stats: DnsStats,
  limits: DnsLimits,
): Promise<TcpListener> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ noDelay: true }, (socket) => {
    if (sockets.size >= limits.tcpConnectionsMax) {
      stats.tcpRejected++;
      socket.destroy();
      return;
    }
    sockets.add(socket);
    stats.tcpAccepted++;
    stats.tcpOpen++;
    socket.on('close', () => {
      sockets.delete(socket);
      stats.tcpOpen--;
    });
    serveConnection(socket, handler, stats, limits);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

function serveConnection(socket: net.Socket, handler: QueryHandler, stats: DnsStats, limits: DnsLimits): void {
  socket.setTimeout(limits.tcpIdleTimeoutMs, () => {
    stats.tcpIdleClosed++;
    socket.destroy();
  });
  socket.on('error', () => {}); // resets and timeouts are the client's business; 'close' follows
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (length > limits.queryBytesMax) {
        stats.dropped++;
        socket.destroy();
        return;
      }
      if (pending.length < 2 + length) break;
      const query = pending.subarray(2, 2 + length);
      pending = pending.subarray(2 + length);
      const out = handler.handle(query, 'tcp');
      if (out !== null) socket.write(frame(out));
    }
    if (socket.writableLength > limits.tcpWriteBufferMaxBytes) {
      socket.pause();
      socket.once('drain', () => socket.resume());
    }
  });
}

function frame(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}
