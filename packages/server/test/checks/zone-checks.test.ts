import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHECK_VIEW_PATH } from '../../src/checks/health-checker.js';
import { rendezvousOwner } from '../../src/checks/rendezvous.js';
import { metricsPlugin } from '../../src/metrics/metrics-plugin.js';
import { parsePromText, sampleValue } from '../metrics/prom-text.js';
import { instanceSpec, TcpTarget, tcpCheck, waitFor } from './local-targets.js';
import { LOCAL_ID, PROCESS_IDS, startMixedZone } from './mixed-zone.js';

const ALL = [...PROCESS_IDS, LOCAL_ID];

/** What a replica says about its checks on /metrics (null when it does not answer). */
async function checkMetrics(
  url: string,
): Promise<{ targets: number; live: number; run: number; transitions: number } | null> {
  try {
    const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(1000) });
    const m = parsePromText(await res.text());
    return {
      targets: sampleValue(m, 'cairn_health_check_targets'),
      live: sampleValue(m, 'cairn_health_check_live_replicas'),
      run: sampleValue(m, 'cairn_health_checks_total', { type: 'tcp' }),
      transitions: sampleValue(m, 'cairn_health_check_transitions_total'),
    };
  } catch {
    return null;
  }
}

describe('active checks spread over a zone of three replicas', () => {
  it('the checks of a killed replica continue on the others', async (t) => {
    const target = await new TcpTarget().start();
    t.after(() => target.stop());
    const zone = await startMixedZone([metricsPlugin]);
    t.after(() => zone.stop());

    // An instance a process replica owns while all three are live, so that we can SIGKILL its checker.
    let service = '';
    let victim = '';
    for (let i = 0; !victim; i++) {
      const id = `127.0.0.1#${target.port}#DEFAULT#DEFAULT_GROUP@@pay-${i}`;
      const owner = rendezvousOwner(id, ALL)!;
      if (owner !== LOCAL_ID) [service, victim] = [`pay-${i}`, owner];
    }
    const spec = instanceSpec(service, target.port, tcpCheck({ intervalMs: 200, timeoutMs: 300, rise: 2, fall: 2 }));
    const id = `127.0.0.1#${target.port}#DEFAULT#DEFAULT_GROUP@@${service}`;
    const survivors = ALL.filter((n) => n !== victim);
    const heir = rendezvousOwner(id, survivors)!;

    await waitFor(
      async () => (await Promise.all(ALL.map((n) => checkMetrics(zone.urls[n]!)))).every((m) => m?.live === 3),
      15_000,
      'every replica spreads the checks over all three',
    );
    // n3 takes its view from the leader (or is the leader); the view route refuses strangers.
    await waitFor(() => zone.local.checks.stats.viewSource !== 'local', 10_000, 'n3 uses the leader view');
    const stranger = await fetch(`${zone.urls[LOCAL_ID]}${CHECK_VIEW_PATH}`);
    assert.equal(stranger.status, 401);
    await zone.local.registry.execute({ op: 'register', instance: spec });
    const health = () => zone.local.registry.state.instance(spec)?.healthy;

    await waitFor(
      async () => {
        const ms = await Promise.all(ALL.map((n) => checkMetrics(zone.urls[n]!)));
        return (
          ALL.every((n, i) => ms[i]?.targets === (n === victim ? 1 : 0)) && (ms[ALL.indexOf(victim)]?.run ?? 0) > 0
        );
      },
      10_000,
      `only ${victim} checks the instance`,
    );

    await zone.kill(victim);
    await target.stop();
    await waitFor(() => health() === false, 20_000, 'a surviving replica marks the dead port unhealthy');
    const heirMetrics = await checkMetrics(zone.urls[heir]!);
    assert.equal(heirMetrics?.targets, 1, `${heir} took the instance over`);
    assert.ok((heirMetrics?.transitions ?? 0) >= 1, `${heir} committed the transition`);
    const other = survivors.find((n) => n !== heir)!;
    assert.equal((await checkMetrics(zone.urls[other]!))?.targets, 0, `${other} did not take it`);

    await target.start();
    await waitFor(() => health() === true, 20_000, 'the revived port is healthy again');
  });
});
