#!/usr/bin/env node
/**
 * Runs seeded simulations: `npm run sim -w @cairn/raft -- --seed <first> --count <n> [--nodes 3|5]
 * [--steps N] [--bug NAME] [--profile NAME] [--verbose]`. Without --nodes, even seeds run 5 nodes
 * and odd seeds 3. Prints each failure with the command that replays it, then
 * `sim: <n> passed, <m> failed`; exits 1 if anything failed, 2 on bad arguments.
 */
import { parseArgs } from 'node:util';
import { PLANTED_BUG_NAMES, type PlantedBugName, PROFILE_NAMES, type ProfileName } from './fault-profiles.js';
import { runSimulation, type SimResult, STEPS_DEFAULT } from './simulation.js';

const COUNT_MAX = 10_000_000;
const STEPS_MAX = 10_000_000;

interface CliOptions {
  seed: number;
  count: number;
  nodes: 3 | 5 | undefined;
  steps: number;
  bug: PlantedBugName | undefined;
  profile: ProfileName | undefined;
  verbose: boolean;
}

function usage(problem: string): never {
  process.stderr.write(
    `sim: ${problem}\nusage: sim --seed <first> --count <n> [--nodes 3|5] [--steps N] [--bug ${PLANTED_BUG_NAMES.join('|')}] [--profile ${PROFILE_NAMES.join('|')}] [--verbose]\n`,
  );
  process.exit(2);
}

function integer(name: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max)
    usage(`--${name} must be an integer in [${min}, ${max}], got ${text}`);
  return n;
}

function parse(argv: string[]): CliOptions {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    values = parseArgs({ args: argv, options: OPTIONS, strict: true }).values;
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  const bug = values.bug;
  if (bug !== undefined && !(PLANTED_BUG_NAMES as readonly string[]).includes(bug)) usage(`unknown bug ${bug}`);
  const profile = values.profile;
  if (profile !== undefined && !(PROFILE_NAMES as readonly string[]).includes(profile)) {
    usage(`unknown profile ${profile}`);
  }
  const nodes = values.nodes === undefined ? undefined : integer('nodes', values.nodes, 3, 3, 5);
  if (nodes !== undefined && nodes !== 3 && nodes !== 5) usage('--nodes must be 3 or 5');
  return {
    seed: integer('seed', values.seed, 1, 0, 0xffffffff),
    count: integer('count', values.count, 1, 1, COUNT_MAX),
    nodes,
    steps: integer('steps', values.steps, STEPS_DEFAULT, 1, STEPS_MAX),
    bug: bug as PlantedBugName | undefined,
    profile: profile as ProfileName | undefined,
    verbose: values.verbose ?? false,
  };
}

const OPTIONS = {
  seed: { type: 'string' },
  count: { type: 'string' },
  nodes: { type: 'string' },
  steps: { type: 'string' },
  bug: { type: 'string' },
  profile: { type: 'string' },
  verbose: { type: 'boolean' },
} as const;

function report(r: SimResult, verbose: boolean): void {
  const f = r.failure!;
  const lines = [
    `FAIL seed ${r.seed} (${r.nodes} nodes, profile ${r.profile}${r.bug === undefined ? '' : `, bug ${r.bug}`}): ${f.kind} at step ${f.step}, t=${f.timeMs}ms`,
    `  ${f.message.split('\n').join('\n  ')}`,
    `  replay: ${r.replay}`,
  ];
  if (verbose) lines.push('  last events:', ...f.recentEvents.map((e) => `    ${e}`));
  process.stdout.write(`${lines.join('\n')}\n`);
}

function main(): void {
  // Piped into `head`: stop quietly when the reader goes away.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const o = parse(process.argv.slice(2));
  let passed = 0;
  let failed = 0;
  for (let i = 0; i < o.count; i++) {
    const seed = (o.seed + i) >>> 0;
    const nodes = o.nodes ?? (seed % 2 === 0 ? 5 : 3);
    const result = runSimulation({
      seed,
      nodes,
      steps: o.steps,
      ...(o.bug === undefined ? {} : { bug: o.bug }),
      ...(o.profile === undefined ? {} : { profile: o.profile }),
    });
    if (result.ok) passed++;
    else {
      failed++;
      report(result, o.verbose || o.count === 1);
    }
    if (o.verbose) process.stdout.write(`seed ${seed}: ${result.traceHash} ${JSON.stringify(result.stats)}\n`);
  }
  process.stdout.write(`sim: ${passed} passed, ${failed} failed\n`);
  process.exitCode = failed > 0 ? 1 : 0;
}

main();
