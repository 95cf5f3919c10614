import { isIPv4 } from 'node:net';
import { networkInterfaces } from 'node:os';

/**
 * Where a push may go. Nacos pushes to whatever `clientIP:udpPort` a poll announces, which would let
 * anyone aim the registry's UDP at a third party. cairn pushes only to an address the client could
 * plausibly own:
 * - the announced `clientIP` when it is the address the poll came from (no `clientIP`: that address);
 * - or, for a poll from loopback, a loopback address or one of this host's own addresses (the Node
 *   client announces its LAN address even when it talks to 127.0.0.1).
 * Anything else is not subscribed (the client keeps polling). Pushes are IPv4 only.
 */
export function pushTargetOf(announcedIp: string, remoteAddress: string): string | null {
  const remote = unmapped(remoteAddress);
  const target = announcedIp.trim() === '' ? remote : unmapped(announcedIp.trim());
  if (!isIPv4(target)) return null;
  if (target === remote) return target;
  if (isLoopback(remote) && (isLoopback(target) || localAddresses().has(target))) return target;
  return null;
}

export function unmapped(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function isLoopback(address: string): boolean {
  return address === '::1' || /^127\./.test(address);
}

let cached: { readonly atMs: number; readonly addresses: ReadonlySet<string> } | null = null;
const LOCAL_ADDRESSES_TTL_MS = 60_000;

function localAddresses(): ReadonlySet<string> {
  const now = Date.now();
  if (cached && now - cached.atMs < LOCAL_ADDRESSES_TTL_MS) return cached.addresses;
  const addresses = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) addresses.add(a.address);
  cached = { atMs: now, addresses };
  return addresses;
}
