import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from '../raft/cleanup.js';
import { sleep } from '../raft/wait.js';
import { expectOk, type ReplicaPools, sendJson } from './http.js';
import { instanceKey, registerBody } from './instances.js';
import { emit, round } from './report.js';
import { ServiceWatcher } from './watcher.js';
import type { RegistryZone } from './zone.js';

const childPath = fileURLToPath(new URL('./heartbeat-child.js', import.meta.url));

/**
 * An instance with the default heartbeat (1 s, unhealthy after 3 s) kept alive by a child process that is
 * then SIGKILLed; time until a watcher on another replica sees it unhealthy, from the kill and from the last
 * acknowledged beat. Times are wall-clock (Date.now) because the last beat is stamped in the child.
 */
export async function measureFailureDetection(zone: RegistryZone, pools: ReplicaPools, samples = 1): Promise<void> {
  const origins = zone.origins;
  for (let sample = 0; sample < samples; sample++) {
    const service = `bench-fd-${sample}`;
    const n = 7_000_000 + sample;
    await expectOk(
      sendJson(pools.pool(origins[0]!), 'POST', '/v1/instances', registerBody(service, n, { ephemeral: true })),
      'register',
    );
    let unhealthyAt: number | undefined;
    const watcher = new ServiceWatcher(origins[2]!, service, (instance) => {
      if (!instance.healthy && unhealthyAt === undefined) unhealthyAt = Date.now();
    });
    await watcher.open();
    const child = spawn(process.execPath, [childPath, origins[1]!, JSON.stringify(instanceKey(service, n))], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    trackChild(child);
    let lastBeatAt: number | undefined;
    let beats = 0;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) {
        const match = /^beat (\d+)$/.exec(line);
        if (match) {
          lastBeatAt = Number(match[1]);
          beats++;
        }
      }
    });
    try {
      await sleep(3500);
      if (beats < 2) throw new Error(`heartbeat child acknowledged only ${beats} beats`);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const killedAt = Date.now();
      child.kill('SIGKILL');
      await exited;
      const deadline = performance.now() + 20_000;
      while (unhealthyAt === undefined && performance.now() < deadline) await sleep(5);
      emit({
        measurement: 'failure-detection',
        sample,
        heartbeat: { intervalMs: 1000, unhealthyAfterMs: 3000 },
        beatsBeforeKill: beats,
        detected: unhealthyAt !== undefined,
        fromKillMs: unhealthyAt === undefined ? null : unhealthyAt - killedAt,
        fromLastBeatMs: unhealthyAt === undefined || lastBeatAt === undefined ? null : unhealthyAt - lastBeatAt,
        targetFromLastBeatMs: 3000,
        lastBeatBeforeKillMs: lastBeatAt === undefined ? null : round(killedAt - lastBeatAt),
      });
    } finally {
      child.kill('SIGKILL');
      watcher.close();
    }
  }
}
