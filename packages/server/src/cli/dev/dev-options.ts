import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

/** `cairn dev`'s flags and their help. */
export const DEV_FLAGS = {
  zones: { type: 'string', help: 'number of zones, az1..azN (default 2, at most 9)' },
  replicas: { type: 'string', help: 'replicas per zone (default 3, at most 7)' },
  'base-port': { type: 'string', help: 'first port of az1; zone i adds 1000 x (i-1) (default 8848)' },
  'federation-port': { type: 'string', help: "the federation's HTTP port (default base + 52: 8900)" },
  'dns-port': { type: 'string', help: "the federation's DNS port, UDP and TCP (default base - 248: 8600)" },
  'data-dir': {
    type: 'string',
    help: 'where every replica keeps its data and every process its log (default ./data/dev)',
  },
  reset: { type: 'boolean', help: 'delete the data directory first' },
  'no-demo': { type: 'boolean', help: 'do not start the demo services' },
  help: { type: 'boolean', help: 'print this help' },
} as const;

export const DEV_LIMITS = { zonesMax: 9, replicasMax: 7 } as const;

export interface DevOptions {
  readonly zones: number;
  readonly replicas: number;
  readonly basePort: number;
  readonly federationPort: number | undefined;
  readonly dnsPort: number | undefined;
  /** Absolute. */
  readonly dataDir: string;
  readonly reset: boolean;
  readonly demo: boolean;
}

/** A flag the user got wrong: the message says which and how. */
export class DevUsageError extends Error {}

export function devHelp(): string {
  const lines = Object.entries(DEV_FLAGS).map(
    ([f, v]) => `  --${f}${v.type === 'string' ? ' <value>' : ''}`.padEnd(30) + v.help,
  );
  return (
    'Usage: cairn dev [options]    (npm start -- [options])\n\n' +
    'Starts on 127.0.0.1 a local cairn: N zones of M replicas, a federation node with DNS, and demo\n' +
    'services registered through the SDK; keeps them running until Ctrl-C, then stops them all.\n' +
    'Starting again reuses the data.\n\n' +
    `Options:\n${lines.join('\n')}\n`
  );
}

/** Parses argv; null means `--help` was asked for. Throws DevUsageError. */
export function parseDevOptions(argv: readonly string[], cwd: string = process.cwd()): DevOptions | null {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: Object.fromEntries(Object.entries(DEV_FLAGS).map(([k, v]) => [k, { type: v.type }])),
      strict: true,
    }).values;
  } catch (err) {
    throw new DevUsageError((err as Error).message);
  }
  if (values['help']) return null;
  const str = (k: keyof typeof DEV_FLAGS) => values[k] as string | undefined;
  return {
    zones: wholeNumber('zones', str('zones'), 1, DEV_LIMITS.zonesMax) ?? 2,
    replicas: wholeNumber('replicas', str('replicas'), 1, DEV_LIMITS.replicasMax) ?? 3,
    basePort: wholeNumber('base-port', str('base-port'), 1024, 65_535) ?? 8848,
    federationPort: wholeNumber('federation-port', str('federation-port'), 1024, 65_535),
    dnsPort: wholeNumber('dns-port', str('dns-port'), 1024, 65_535),
    dataDir: resolve(cwd, str('data-dir') ?? './data/dev'),
    reset: values['reset'] === true,
    demo: values['no-demo'] !== true,
  };
}

function wholeNumber(flag: string, raw: string | undefined, min: number, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new DevUsageError(`--${flag} must be a whole number from ${min} to ${max}, got '${raw}'`);
  }
  return n;
}
