// One in-process, single-replica zone server with every zone API plugin (the admin UI included),
// level data in a temp dir, and a stop() that removes it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiPluginsModule, serverConfigModule, zoneClusterModule, zoneServerModule } from './server-modules.js';

export interface TestZone {
  readonly url: string;
  /** Stops the replica and starts it again on the same port and data (watch sockets drop). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestZone(zone: string): Promise<TestZone> {
  const [{ startZoneServer }, { loadServerConfig }, { ZONE_API_PLUGINS }, { freePort }] = await Promise.all([
    zoneServerModule(),
    serverConfigModule(),
    apiPluginsModule(),
    zoneClusterModule(),
  ]);
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-ui-'));
  const port = await freePort();
  const config = loadServerConfig(
    [
      '--zone',
      zone,
      '--listen',
      `127.0.0.1:${port}`,
      '--data-dir',
      dataDir,
      '--log-level',
      'silent',
      '--tick-ms',
      '20',
    ],
    {},
  );
  const start = async (): Promise<Awaited<ReturnType<typeof startZoneServer>>> => {
    const server = await startZoneServer(config, ZONE_API_PLUGINS);
    const deadline = Date.now() + 10_000;
    while (!server.registry.isLeader) {
      if (Date.now() > deadline) {
        await server.close();
        throw new Error('the single replica did not become leader');
      }
      await new Promise((done) => setTimeout(done, 10));
    }
    return server;
  };
  let server = await start().catch((err: unknown) => {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });
  let stopped = false;
  return {
    url: `http://${server.address}`,
    restart: async () => {
      await server.close();
      server = await start();
    },
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Registers persistent instances (they never expire, so a slow test machine cannot lose them). */
export async function registerInstances(
  url: string,
  service: string,
  ips: readonly string[],
  port: number,
  extra: Readonly<Record<string, unknown>> = {},
): Promise<void> {
  for (const ip of ips) {
    const res = await fetch(`${url}/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ service, ip, port, ephemeral: false, metadata: { version: 'v1' }, ...extra }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!res.ok) throw new Error(`registering ${service} ${ip}:${port} failed: ${await res.text()}`);
  }
}
