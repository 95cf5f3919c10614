import type dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { CairnError } from '../../errors.js';
import type { FederatedView } from '../federated-view.js';
import { AnswerBuilder } from './answer-builder.js';
import { DEFAULT_DNS_LIMITS, type DnsLimits } from './dns-limits.js';
import { DnsStats, type DnsStatsSnapshot } from './dns-stats.js';
import { QueryHandler } from './query-handler.js';
import { type DnsName, isWireName, labelsOf } from './records.js';
import { ServiceFinder } from './service-finder.js';
import { listenTcp, type TcpListener } from './tcp-transport.js';
import { bindUdp, closeUdp } from './udp-transport.js';

/**
 * The federation's DNS server: SRV and A/AAAA answers for the merged view, over UDP and TCP on one
 * port, with EDNS. Names and records are described in README.md beside this file.
 */
export interface DnsServerOptions {
  view: FederatedView;
  /** host:port (`[v6]:port` for IPv6); port 0 picks a port free for both UDP and TCP. */
  listen: string;
  /** Default 'cairn'. */
  domain?: string;
  /** TTL of every record, 0..1 s (default 1). */
  ttlS?: number;
  logger: Logger;
  /** Overrides of the bounds (tests, tuning); see DEFAULT_DNS_LIMITS. */
  limits?: Partial<DnsLimits>;
}

export interface DnsServer {
  readonly host: string;
  /** UDP and TCP share it. */
  readonly port: number;
  /** Counters for /metrics. */
  stats(): DnsStatsSnapshot;
  close(): Promise<void>;
}

export const DEFAULT_DNS_DOMAIN = 'cairn';
export const DEFAULT_DNS_TTL_S = 1;

export async function startDnsServer(opts: DnsServerOptions): Promise<DnsServer> {
  const domain = parseDomain(opts.domain ?? DEFAULT_DNS_DOMAIN);
  const ttlS = opts.ttlS ?? DEFAULT_DNS_TTL_S;
  if (!Number.isInteger(ttlS) || ttlS < 0 || ttlS > 1) {
    throw new CairnError('VALIDATION_FAILED', `dns ttlS must be 0 or 1 (seconds), got ${ttlS}`);
  }
  const limits: DnsLimits = { ...DEFAULT_DNS_LIMITS, ...opts.limits };
  const { host, port } = parseListen(opts.listen);
  const resolved = isIP(host) !== 0 ? { address: host, family: isIP(host) } : await lookup(host);
  const family: 4 | 6 = resolved.family === 6 ? 6 : 4;
  const logger = opts.logger.child({ component: 'dns' });

  const stats = new DnsStats();
  const finder = new ServiceFinder(opts.view);
  const builder = new AnswerBuilder({ view: opts.view, finder, domain, ttlS });
  const handler = new QueryHandler(builder, stats, limits, logger);

  let bound: { udp: dgram.Socket; tcp: TcpListener; port: number };
  try {
    bound = await bindBoth(resolved.address, family, port, handler, stats, limits, logger);
  } catch (err) {
    finder.close();
    throw err;
  }
  logger.info({ host: resolved.address, port: bound.port, domain: domain.join('.') }, 'dns: listening (udp+tcp)');

  let closing: Promise<void> | null = null;
  return {
    host: resolved.address,
    port: bound.port,
    stats: () => stats.snapshot(),
    close: () => {
      closing ??= (async () => {
        finder.close();
        await Promise.all([closeUdp(bound.udp), bound.tcp.close()]);
      })();
      return closing;
    },
  };
}

/** UDP first (port 0 lets the OS pick), then TCP on the same port; if TCP finds it taken, again. */
async function bindBoth(
  address: string,
  family: 4 | 6,
  port: number,
  handler: QueryHandler,
  stats: DnsStats,
  limits: DnsLimits,
  logger: Logger,
): Promise<{ udp: dgram.Socket; tcp: TcpListener; port: number }> {
  for (let attempt = 1; ; attempt++) {
    const udp = await bindUdp(address, family, port, handler, stats, logger);
    const udpPort = udp.address().port;
    try {
      const tcp = await listenTcp(address, udpPort, handler, stats, limits);
      return { udp, tcp, port: udpPort };
    } catch (err) {
      await closeUdp(udp);
      const inUse = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
      if (port !== 0 || !inUse || attempt >= limits.bindAttemptsMax) throw err;
    }
  }
}

function parseDomain(text: string): DnsName {
  const labels = labelsOf(text.toLowerCase());
  if (labels.length === 0 || !isWireName(labels) || !labels.every((l) => /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(l))) {
    throw new CairnError('VALIDATION_FAILED', `dns domain ${JSON.stringify(text)} is not a host name like "cairn"`);
  }
  return labels;
}

function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65_535) {
    throw new CairnError('VALIDATION_FAILED', `dns listen address ${JSON.stringify(listen)} is not host:port`);
  }
  return { host: (m[1] ?? m[2])!, port };
}
