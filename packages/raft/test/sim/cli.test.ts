import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const CLI = fileURLToPath(new URL('../../src/sim/cli.js', import.meta.url));

function sim(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('sim cli', () => {
  it('prints the summary line and exits 0 when every seed passes', () => {
    const r = sim('--seed', '11', '--count', '3', '--steps', '1500');
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim().split('\n').at(-1), 'sim: 3 passed, 0 failed');
  });

  it('prints each failure with its replay command and exits 1', () => {
    // readIndexWithoutQuorum is caught by most seeds of its profile.
    const r = sim('--seed', '1', '--count', '4', '--nodes', '3', '--bug', 'readIndexWithoutQuorum');
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    const summary = lines.at(-1)!;
    const m = /^sim: (\d+) passed, (\d+) failed$/.exec(summary);
    assert.ok(m, summary);
    const failed = Number(m[2]);
    assert.ok(failed > 0);
    assert.equal(Number(m[1]) + failed, 4);
    const replays = lines.filter((l) => l.trim().startsWith('replay: '));
    assert.equal(replays.length, failed);
    for (const l of replays) {
      assert.match(
        l,
        /replay: npm run sim -w @cairn\/raft -- --seed \d+ --count 1 --nodes 3 --steps \d+ --bug readIndexWithoutQuorum$/,
      );
    }
  });

  it('refuses bad arguments with exit code 2', () => {
    assert.equal(sim('--nodes', '4').status, 2);
    assert.equal(sim('--bug', 'nope').status, 2);
    assert.equal(sim('--frobnicate').status, 2);
  });
});
