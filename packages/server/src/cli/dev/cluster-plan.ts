import { join } from 'node:path';
import type { DevOptions } from './dev-options.js';

/**
 * Where each process of a `cairn dev` cluster listens and keeps its data: a pure function of the
 * options, so the same options always give the same cluster (and the same data directories).
 */

export const DEV_HOST = '127.0.0.1';

/** Offsets from --base-port; with the default 8848 they give 8848.., 9848.., 8900 and 8600. */
export const DEV_PORT_LAYOUT = { zoneStride: 1000, federationOffset: 52, dnsOffset: -248 } as const;

const PORT_MIN = 1024;
const PORT_MAX = 65_535;

export interface ReplicaPlan {
  readonly zone: string;
  readonly id: string;
  readonly port: number;
  readonly url: string;
  readonly dataDir: string;
  readonly logFile: string;
}

export interface ZonePlan {
  readonly zone: string;
  readonly replicas: readonly ReplicaPlan[];
}

export interface FederationPlan {
  readonly httpPort: number;
  readonly dnsPort: number;
  readonly url: string;
  readonly logFile: string;
}

export interface ClusterPlan {
  readonly dataDir: string;
  readonly zones: readonly ZonePlan[];
  readonly federation: FederationPlan;
}

/** Throws an Error naming the flag to change when a port falls outside 1024-65535 or two collide. */
export function planCluster(o: Omit<DevOptions, 'reset' | 'demo'>): ClusterPlan {
  const zones: ZonePlan[] = [];
  for (let z = 1; z <= o.zones; z++) {
    const zone = `az${z}`;
    const replicas: ReplicaPlan[] = [];
    for (let r = 1; r <= o.replicas; r++) {
      const id = `n${r}`;
      const port = o.basePort + (z - 1) * DEV_PORT_LAYOUT.zoneStride + (r - 1);
      replicas.push({
        zone,
        id,
        port,
        url: `http://${DEV_HOST}:${port}`,
        dataDir: join(o.dataDir, `${zone}-${id}`),
        logFile: join(o.dataDir, `${zone}-${id}.log`),
      });
    }
    zones.push({ zone, replicas });
  }
  const httpPort = o.federationPort ?? o.basePort + DEV_PORT_LAYOUT.federationOffset;
  const dnsPort = o.dnsPort ?? o.basePort + DEV_PORT_LAYOUT.dnsOffset;
  const plan: ClusterPlan = {
    dataDir: o.dataDir,
    zones,
    federation: {
      httpPort,
      dnsPort,
      url: `http://${DEV_HOST}:${httpPort}`,
      logFile: join(o.dataDir, 'federation.log'),
    },
  };
  checkPorts(plan, o.federationPort !== undefined, o.dnsPort !== undefined);
  return plan;
}

function checkPorts(plan: ClusterPlan, federationGiven: boolean, dnsGiven: boolean): void {
  const owners = new Map<number, string>();
  const claim = (port: number, owner: string, flag: string): void => {
    if (port < PORT_MIN || port > PORT_MAX) {
      throw new Error(`${owner} would listen on port ${port}, outside ${PORT_MIN}-${PORT_MAX}: change ${flag}`);
    }
    const other = owners.get(port);
    if (other !== undefined) throw new Error(`${owner} and ${other} would both listen on port ${port}: change ${flag}`);
    owners.set(port, owner);
  };
  for (const z of plan.zones) for (const r of z.replicas) claim(r.port, `${z.zone}/${r.id}`, '--base-port');
  claim(plan.federation.httpPort, 'the federation', federationGiven ? '--federation-port' : '--base-port');
  // DNS has its own port on UDP and TCP; it must not share the TCP port of anything else either.
  claim(plan.federation.dnsPort, 'the federation DNS', dnsGiven ? '--dns-port' : '--base-port or --dns-port');
}

/** Every TCP port the cluster listens on, and the UDP one. */
export function portsOf(plan: ClusterPlan): { tcp: number[]; udp: number[] } {
  return {
    tcp: [
      ...plan.zones.flatMap((z) => z.replicas.map((r) => r.port)),
      plan.federation.httpPort,
      plan.federation.dnsPort,
    ],
    udp: [plan.federation.dnsPort],
  };
}
