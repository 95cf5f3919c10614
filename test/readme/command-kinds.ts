// The kinds of README command this test knows how to exercise, and how. A README command that matches
// none of them fails the test: a new kind of command needs a row here and an exercise in the test.
import type { ShellCommand } from './readme-shell.js';

export type Kind =
  | 'shell variable'
  | 'npm ci'
  | 'npm test'
  | 'npm start'
  | 'npm run'
  | 'cairn --help'
  | 'cairn server'
  | 'cairn federation'
  | 'cairn ctl'
  | 'curl'
  | 'dig'
  | 'haproxy -c'
  | 'haproxy';

interface KindRow {
  readonly kind: Kind;
  readonly matches: (argv: readonly string[], c: ShellCommand) => boolean;
  readonly how: string;
}

/** `npx cairn x` and `cairn x` both run the CLI: the words after `cairn`, or null. */
export function cairnArgs(argv: readonly string[]): readonly string[] | null {
  if (argv[0] === 'npx' && argv[1] === 'cairn') return argv.slice(2);
  if (argv[0] === 'cairn') return argv.slice(1);
  return null;
}

/** ctl subcommands the live run knows the effect of. */
export const CTL_COMMANDS = new Set(['members', 'zone-weight', 'zones', 'leader-transfer', 'services']);

/** Bench scripts: whether the entry answers `--help` (else only the script and its entry are checked). */
export const BENCH_SCRIPTS: Readonly<Record<string, { readonly help: boolean }>> = {
  'bench:raft': { help: true },
  'bench:registry': { help: true },
  'bench:federation': { help: true },
  'bench:sdk': { help: false },
};

export const KINDS: readonly KindRow[] = [
  {
    kind: 'shell variable',
    matches: (argv, c) => argv.length === 0 && Object.keys(c.env).length > 0,
    how: 'kept and expanded in the commands after it',
  },
  { kind: 'npm ci', matches: (a) => a.join(' ') === 'npm ci', how: 'CI: .ci/run runs `npm ci` on a clean clone' },
  { kind: 'npm test', matches: (a) => a.join(' ') === 'npm test', how: 'CI: .ci/run runs `npm test`' },
  {
    kind: 'npm start',
    matches: (a) => a[0] === 'npm' && a[1] === 'start' && (a.length === 2 || a[2] === '--'),
    how: "the start script runs `cairn dev`, which packages/server/test/cli-dev.test.ts starts for real; flags after -- go through cairn dev's option parser",
  },
  {
    kind: 'npm run',
    matches: (a) => a[0] === 'npm' && a[1] === 'run' && (a[2] === 'sim' || (a[2] ?? '') in BENCH_SCRIPTS),
    how: 'the script exists in the right package.json; `sim` runs with --count 2; bench scripts run --help when they take it, else their entry file must exist',
  },
  {
    kind: 'cairn --help',
    matches: (a) => {
      const c = cairnArgs(a);
      return c !== null && c.length === 2 && c[1] === '--help';
    },
    how: 'run; exits 0 and prints its usage',
  },
  {
    kind: 'cairn server',
    matches: (a) => cairnArgs(a)?.[0] === 'server',
    how: 'started for real (ports and data dirs rewritten), in the background as written',
  },
  {
    kind: 'cairn federation',
    matches: (a) => cairnArgs(a)?.[0] === 'federation',
    how: 'started for real over the zones (ports rewritten), in the background',
  },
  {
    kind: 'cairn ctl',
    matches: (a) => cairnArgs(a)?.[0] === 'ctl' && CTL_COMMANDS.has(cairnArgs(a)?.[1] ?? ''),
    how: 'run for real against the zone or federation; exit 0 and its effect asserted',
  },
  {
    kind: 'curl',
    matches: (a) => a[0] === 'curl',
    how: 'run for real (ports rewritten, addresses kept on loopback); 2xx and its effect asserted',
  },
  {
    kind: 'dig',
    matches: (a) => a[0] === 'dig',
    how: "run for real against the federation's DNS; SRV answer asserted",
  },
  {
    kind: 'haproxy -c',
    matches: (a) => a[0] === 'haproxy' && a.includes('-c'),
    how: 'run; must accept the config (skipped when haproxy is missing)',
  },
  {
    kind: 'haproxy',
    matches: (a) => a[0] === 'haproxy' && !a.includes('-c'),
    how: 'started on the federation DNS (frontend ports moved to free ones); stays up, serves its stats page, then stopped',
  },
];

export function kindOf(c: ShellCommand): Kind | null {
  return KINDS.find((k) => k.matches(c.argv, c))?.kind ?? null;
}
