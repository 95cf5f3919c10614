// One in-process, single-node zone server on 127.0.0.1 with the API plugins a test asks for, level
// data in a temp dir, and a stop() that removes it. Resolves once the node leads.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadServerConfig } from '../../src/config/server-config.js';
import { type ApiPlugin, startZoneServer, type ZoneServer } from '../../src/server/zone-server.js';
import { freePort, sleep } from './zone-cluster.js';

export interface TestServer {
  readonly url: string;
  readonly server: ZoneServer;
  stop(): Promise<void>;
}

export async function startTestServer(plugins: readonly ApiPlugin[], zone = 'az1'): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'cairn-test-'));
  // Not port 0: Raft refuses to advertise port 0, even for a single node.
  const port = await freePort();
  const args = ['--zone', zone, '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir];
  const config = loadServerConfig([...args, '--log-level', 'silent', '--tick-ms', '20'], {});
  let server: ZoneServer;
  try {
    server = await startZoneServer(config, plugins);
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!server.registry.isLeader) {
    if (Date.now() > deadline) {
      await stop();
      throw new Error('the single node did not become leader');
    }
    await sleep(10);
  }
  return { url: `http://${server.address}`, server, stop };
}
