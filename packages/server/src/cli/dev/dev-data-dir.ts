import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterPlan } from './cluster-plan.js';

/**
 * The project-local data directory of `cairn dev`: one folder per replica (`az1-n1`), a log per
 * process, and the cluster secret the replicas share. Kept between runs; `--reset` deletes it.
 */

const REPLICA_DIR = /^(az\d+)-(n\d+)$/;

/** Prepares the directory and returns the cluster secret. Throws when the data does not fit the plan. */
export function prepareDataDir(plan: ClusterPlan, reset: boolean): string {
  if (reset) rmSync(plan.dataDir, { recursive: true, force: true });
  mkdirSync(plan.dataDir, { recursive: true });
  checkShape(plan);
  return clusterSecret(plan.dataDir);
}

/**
 * A zone's replicas remember the membership they were created with: starting a zone that has data
 * with another number of replicas would give it members that disagree on who votes. Refuse that;
 * new zones (and zones left out) are fine.
 */
function checkShape(plan: ClusterPlan): void {
  const existing = new Map<string, Set<string>>();
  for (const name of readdirSync(plan.dataDir)) {
    const m = REPLICA_DIR.exec(name);
    if (!m) continue;
    const ids = existing.get(m[1]!) ?? new Set<string>();
    ids.add(m[2]!);
    existing.set(m[1]!, ids);
  }
  for (const z of plan.zones) {
    const had = existing.get(z.zone);
    if (!had) continue;
    const want = z.replicas.map((r) => r.id);
    if (had.size !== want.length || want.some((id) => !had.has(id))) {
      throw new Error(
        `the data in ${plan.dataDir} has ${had.size} replicas in ${z.zone}, not ${want.length}: ` +
          `start with --replicas ${had.size}, or add --reset to start fresh (this deletes the data)`,
      );
    }
  }
}

function clusterSecret(dataDir: string): string {
  const file = join(dataDir, 'cluster-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(24).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
