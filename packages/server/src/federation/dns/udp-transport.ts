import dgram from 'node:dgram';
import type { Logger } from 'pino';
import type { DnsStats } from './dns-stats.js';
import type { QueryHandler } from './query-handler.js';

/** DNS over UDP: one datagram in, one out, to the sender. */
export async function bindUdp(
  address: string,
  family: 4 | 6,
  port: number,
  handler: QueryHandler,
  stats: DnsStats,
  logger: Logger,
): Promise<dgram.Socket> {
  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      socket.close();
      reject(err);
    };
    socket.once('error', onError);
    socket.bind({ address, port, exclusive: true }, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  socket.on('error', (err) => logger.warn({ err }, 'dns: udp socket error'));
  socket.on('message', (packet, rinfo) => {
    const out = handler.handle(packet, 'udp');
    if (out === null) return;
    socket.send(out, rinfo.port, rinfo.address, (err) => {
      if (err) stats.errors++;
    });
  });
  return socket;
}

export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
