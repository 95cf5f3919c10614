import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * The IP to register when none is given: the local address of a TCP connection to a registry
 * server (on a host with several interfaces, the one the zone reaches it by), else the first
 * non-internal IPv4 address, else 127.0.0.1. Each attempt is bounded by `timeoutMs`.
 */
export async function detectIp(servers: readonly string[], timeoutMs = 1000): Promise<string> {
  for (const base of servers) {
    const url = new URL(base);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const ip = await localAddressTowards(url.hostname.replace(/^\[(.*)\]$/, '$1'), port, timeoutMs);
    if (ip !== null) return ip;
  }
  return firstExternalIpv4() ?? '127.0.0.1';
}

function localAddressTowards(host: string, port: number, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (ip: string | null): void => {
      socket.destroy();
      resolve(ip);
    };
    socket.once('connect', () => done(unmapped(socket.localAddress ?? null)));
    socket.once('timeout', () => done(null));
    socket.once('error', () => done(null));
  });
}

function unmapped(ip: string | null): string | null {
  if (ip === null) return null;
  return ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice(7) : ip;
}

export function firstExternalIpv4(): string | null {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return null;
}
