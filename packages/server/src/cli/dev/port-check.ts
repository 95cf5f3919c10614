import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { DEV_HOST } from './cluster-plan.js';

/**
 * The ports among these that something else already holds on 127.0.0.1 (an earlier `cairn dev`
 * still running, a local Consul on 8600...), so start-up can refuse at once with a clear message
 * instead of leaving a replica to fail in its log.
 */
export async function busyPorts(ports: { tcp: readonly number[]; udp: readonly number[] }): Promise<string[]> {
  const checks = [
    ...ports.tcp.map(async (p) => ((await canListenTcp(p)) ? null : `${p}/tcp`)),
    ...ports.udp.map(async (p) => ((await canBindUdp(p)) ? null : `${p}/udp`)),
  ];
  return (await Promise.all(checks)).filter((p): p is string => p !== null);
}

function canListenTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: DEV_HOST, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

function canBindUdp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.unref();
    sock.once('error', () => {
      sock.close();
      resolve(false);
    });
    sock.bind(port, DEV_HOST, () => sock.close(() => resolve(true)));
  });
}
