// Helpers for the DNS server tests: start a server over a StaticView on 127.0.0.1 port 0, and ask
// it questions with real clients (dig, when installed; Node's c-ares resolver; raw dns-packet).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { type DnsServer, type DnsServerOptions, startDnsServer } from '../../../src/federation/dns/dns-server.js';
import { StaticView, type StaticViewOptions } from '../../helpers/static-view.js';

const execFileAsync = promisify(execFile);

export const DIG = ['/usr/bin/dig', '/bin/dig', '/usr/local/bin/dig'].find((p) => existsSync(p)) ?? null;
/** For `t.skip()` / `{ skip }`: why the dig cases do not run here. */
export const NO_DIG = DIG === null ? 'dig is not installed (apt-get install bind9-dnsutils)' : false;

export interface Fixture {
  readonly view: StaticView;
  readonly server: DnsServer;
  readonly port: number;
}

export async function startFixture(
  viewOpts: StaticViewOptions = { zones: ['az1', 'az2'] },
  serverOpts: Partial<Omit<DnsServerOptions, 'view' | 'logger'>> = {},
): Promise<Fixture> {
  const view = new StaticView(viewOpts);
  const server = await startDnsServer({
    view,
    listen: '127.0.0.1:0',
    logger: pino({ level: 'silent' }),
    ...serverOpts,
  });
  return { view, server, port: server.port };
}

export interface DigRecord {
  readonly name: string;
  readonly ttl: number;
  readonly type: string;
  /** The record data, as dig prints it, split on spaces. */
  readonly data: readonly string[];
}

export interface DigResult {
  readonly status: string;
  readonly flags: readonly string[];
  readonly answer: readonly DigRecord[];
  readonly authority: readonly DigRecord[];
  readonly additional: readonly DigRecord[];
  /** The server's EDNS buffer size, when it answered with an OPT record. */
  readonly ednsUdp: number | null;
  readonly tcpRetried: boolean;
  readonly raw: string;
}

/** Runs dig against the fixture; `args` are dig's own (`SRV`, names, `+tcp`, `+bufsize=...`). */
export async function dig(port: number, ...args: string[]): Promise<DigResult> {
  if (DIG === null) throw new Error('dig is not installed');
  const { stdout } = await execFileAsync(DIG, ['@127.0.0.1', '-p', String(port), '+tries=1', '+time=3', ...args], {
    timeout: 15_000,
    maxBuffer: 16 << 20,
  });
  return parseDig(stdout);
}

export function parseDig(out: string): DigResult {
  const status = /status: ([A-Z]+)/.exec(out)?.[1];
  const flags = /;; flags:([^;]*);/.exec(out)?.[1];
  if (status === undefined || flags === undefined) throw new Error(`dig printed no answer:\n${out}`);
  const section = (title: string): DigRecord[] => {
    const start = out.indexOf(`;; ${title} SECTION:\n`);
    if (start < 0) return [];
    const body = out.slice(start).split('\n').slice(1);
    const records: DigRecord[] = [];
    for (const line of body) {
      if (line.trim() === '' || line.startsWith(';')) break;
      const [name, ttl, _klass, type, ...data] = line.split(/\s+/);
      records.push({ name: name!, ttl: Number(ttl), type: type!, data });
    }
    return records;
  };
  const udp = /; EDNS: version: \d+, flags:[^;]*; udp: (\d+)/.exec(out)?.[1];
  return {
    status,
    flags: flags.trim().split(/\s+/),
    answer: section('ANSWER'),
    authority: section('AUTHORITY'),
    additional: section('ADDITIONAL'),
    ednsUdp: udp === undefined ? null : Number(udp),
    tcpRetried: out.includes('retrying in TCP mode'),
    raw: out,
  };
}

/** SRV answer data as numbers: priority, weight, port and target. */
export function srvOf(r: DigRecord): { priority: number; weight: number; port: number; target: string } {
  const [priority, weight, port, target] = r.data;
  return { priority: Number(priority), weight: Number(weight), port: Number(port), target: target! };
}

/** Adds `n` instances of `service` in `zone` at 10.<zone index>.x.y:8080. */
export function addInstances(view: StaticView, zone: string, service: string, n: number, octet2: number): void {
  view.batch(() => {
    for (let i = 0; i < n; i++) {
      view.putInstance({ zone, service, ip: `10.${octet2}.${Math.floor(i / 250)}.${(i % 250) + 1}`, port: 8080 });
    }
  });
}
