import { isIPv4 } from 'node:net';
import type { DnsName } from './records.js';

/**
 * SRV targets name an address, not a host: `10-0-0-7.addr.<domain>` for IPv4 (dashed decimal, as
 * Kubernetes names pods) and the 32 hex digits of the address for IPv6
 * (`20010db8000000000000000000000001.addr.<domain>`). The label is the address, so the server
 * answers A/AAAA for any well-formed one without looking anything up.
 */

export type Address = { readonly family: 4 | 6; readonly bytes: Uint8Array };

/** Parses an instance's IP; null for host names and anything else that is not a plain IP literal. */
export function parseAddress(ip: string): Address | null {
  if (isIPv4(ip)) return { family: 4, bytes: Uint8Array.from(ip.split('.').map(Number)) };
  const bytes = parseIpv6(ip);
  return bytes === null ? null : { family: 6, bytes };
}

/** The address label of an IP (`10-0-0-7`, or 32 hex digits for IPv6). */
export function addressLabel(addr: Address): string {
  if (addr.family === 4) return Array.from(addr.bytes).join('-');
  return Buffer.from(addr.bytes).toString('hex');
}

/** The address a label names, or null when it is not a canonical address label. */
export function addressOfLabel(label: string): Address | null {
  const v4 = /^(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})$/.exec(label);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return null;
    const addr: Address = { family: 4, bytes: Uint8Array.from(parts) };
    return addressLabel(addr) === label ? addr : null; // one name per address: no leading zeros
  }
  if (/^[0-9a-fA-F]{32}$/.test(label)) return { family: 6, bytes: Uint8Array.from(Buffer.from(label, 'hex')) };
  return null;
}

/** The SRV target for an address: `<label>.addr.<domain>`. */
export function addressName(addr: Address, domain: DnsName): DnsName {
  return [addressLabel(addr), 'addr', ...domain];
}

/** RFC 4291 text form to 16 bytes (with `::` and a trailing dotted IPv4); no zone ids. */
export function parseIpv6(text: string): Uint8Array | null {
  if (text.length > 45 || !/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groupsOf = (part: string): number[] | null => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        if (!isIPv4(piece)) return null;
        const [a, b, c, d] = piece.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(piece)) {
        out.push(Number.parseInt(piece, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1 && head.length !== 8) return null;
  if (halves.length === 2 && head.length + tail.length > 7) return null;
  if (halves.length === 2 && halves[0]!.includes('.')) return null; // a dotted IPv4 only ends an address
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}
