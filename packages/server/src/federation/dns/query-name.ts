// The model's defaults are plain constants (no registry state is involved).
import { DEFAULT_GROUP, DEFAULT_NAMESPACE } from '../../registry/model.js';
import { type Address, addressOfLabel } from './address-label.js';
import { type DnsName, endsWithName, sameLabel } from './records.js';

/**
 * What a query name asks for. The scheme (under the domain, `cairn` by default; labels compare
 * case-insensitively):
 *
 *   <service>.service.<domain>                          public / DEFAULT_GROUP
 *   _<service>._tcp.service.<domain>                    the same, RFC 2782 form (HAProxy wants it for SRV)
 *   <service>.<group>.<namespace>.service.<domain>      a named group and namespace
 *   _<service>._tcp.<group>.<namespace>.service.<domain>
 *   any of the above with `service.<zone>` instead of `service`: only that zone's instances
 *   <address label>.addr.<domain>                       SRV targets (see address-label.ts)
 *
 * Service names may hold dots (they span labels). In the plain form the last two labels may be a
 * group and a namespace or part of the service name: both readings are candidates, the whole name
 * in public / DEFAULT_GROUP first. The `_tcp` form has no such ambiguity. A group or namespace with
 * a dot in its name, and names whose labels would be empty or longer than 63 bytes, cannot be
 * reached through DNS.
 */
export type NameQuery =
  /** Not under the domain: REFUSED. */
  | { readonly kind: 'outside' }
  /** The domain itself: its SOA. */
  | { readonly kind: 'apex' }
  /** A name with names below it but no records (`service.cairn`, `addr.cairn`, `az1.cairn`...). */
  | { readonly kind: 'empty' }
  | { readonly kind: 'address'; readonly address: Address }
  | { readonly kind: 'service'; readonly candidates: readonly ServiceCandidate[]; readonly zone: string | null }
  /** Under the domain but nothing by that name: NXDOMAIN. */
  | { readonly kind: 'unknown' };

/** One reading of a service name, spelled as the query spelled it. */
export interface ServiceCandidate {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
}

/** cairn's name rule (registry/model.ts): a reading that breaks it cannot name a service. */
const CAIRN_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;

const SERVICE = 'service';
const ADDR = 'addr';
const TCP = '_tcp';

/**
 * Parses `name` (labels as received) under `domain`. `zoneOf(label)` gives the configured zone a
 * label names, or null when it names none.
 */
export function parseQueryName(name: DnsName, domain: DnsName, zoneOf: (label: string) => string | null): NameQuery {
  if (!endsWithName(name, domain)) return { kind: 'outside' };
  const rest = name.slice(0, name.length - domain.length);
  if (rest.length === 0) return { kind: 'apex' };
  const last = rest[rest.length - 1]!;
  if (sameLabel(last, ADDR)) {
    if (rest.length === 1) return { kind: 'empty' };
    const address = rest.length === 2 ? addressOfLabel(rest[0]!) : null;
    return address === null ? { kind: 'unknown' } : { kind: 'address', address };
  }
  if (rest.length >= 2 && sameLabel(rest[rest.length - 2]!, SERVICE)) {
    const zone = zoneOf(last);
    if (zone !== null) return serviceQuery(rest.slice(0, -2), zone);
  }
  if (sameLabel(last, SERVICE)) return serviceQuery(rest.slice(0, -1), null);
  if (rest.length === 1 && zoneOf(last) !== null) return { kind: 'empty' };
  return { kind: 'unknown' };
}

function serviceQuery(prefix: DnsName, zone: string | null): NameQuery {
  if (prefix.length === 0) return { kind: 'empty' };
  const candidates = readings(prefix).filter(
    (c) => CAIRN_NAME.test(c.service) && CAIRN_NAME.test(c.group) && CAIRN_NAME.test(c.namespace),
  );
  return candidates.length === 0 ? { kind: 'unknown' } : { kind: 'service', candidates, zone };
}

function readings(prefix: DnsName): ServiceCandidate[] {
  const first = prefix[0]!;
  const tcpAt = first.startsWith('_') ? prefix.findIndex((label, i) => i > 0 && sameLabel(label, TCP)) : -1;
  if (tcpAt > 0) {
    const service = [first.slice(1), ...prefix.slice(1, tcpAt)].join('.');
    const after = prefix.slice(tcpAt + 1);
    if (after.length === 0) return [{ namespace: DEFAULT_NAMESPACE, group: DEFAULT_GROUP, service }];
    if (after.length === 2) return [{ namespace: after[1]!, group: after[0]!, service }];
    return [];
  }
  const out: ServiceCandidate[] = [{ namespace: DEFAULT_NAMESPACE, group: DEFAULT_GROUP, service: prefix.join('.') }];
  if (prefix.length >= 3) {
    out.push({
      namespace: prefix[prefix.length - 1]!,
      group: prefix[prefix.length - 2]!,
      service: prefix.slice(0, -2).join('.'),
    });
  }
  return out;
}
