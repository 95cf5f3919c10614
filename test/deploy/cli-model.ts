// What the `cairn` CLI accepts, taken from the code itself: the zod config schemas, the flag tables the
// argument parsers are built from, the env var each flag also reads, and the config loaders (to validate
// whole invocations). The federation's config is loaded when it exists; else its flags come from
// `cairn federation --help`; else its checks are skipped with a reason.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
export const CLI = join(ROOT, 'packages/server/dist/src/cli/main.js');

type ServerConfigModule = typeof import('../../packages/server/src/config/server-config.js');

export interface Listening {
  /** host:port of the HTTP port (REST, probes, UI). */
  readonly listen: string;
  /** host:port of DNS (UDP and TCP), when the command serves it. */
  readonly dns: string | null;
}

export interface CommandModel {
  readonly command: 'server' | 'federation';
  /** Where the model came from (for messages). */
  readonly source: string;
  /** Every flag the parser accepts (kebab-case, without --), and whether it takes no value. */
  readonly flags: ReadonlyMap<string, { readonly boolean: boolean; readonly multiple: boolean }>;
  /** Config schema keys; null when only --help output was available. */
  readonly schemaKeys: ReadonlySet<string> | null;
  /** The schema key a flag sets. */
  flagKey(flag: string): string;
  /** env var name -> the flag it stands for. */
  readonly envVars: ReadonlyMap<string, string>;
  /** Validates a whole invocation like the CLI does; null when no loader is available. */
  readonly load: ((args: readonly string[], env: Record<string, string>) => Listening) | null;
  /** The listen defaults, from the schema. */
  readonly defaults: Listening;
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function portOf(hostPort: string): number {
  return Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
}

/** Runs a schema field's default through zod: `schema.shape[key].parse(undefined)`. */
function defaultOf(shape: Record<string, unknown>, key: string): unknown {
  const field = shape[key] as { safeParse(v: unknown): { success: boolean; data?: unknown } } | undefined;
  if (!field) return undefined;
  const r = field.safeParse(undefined);
  return r.success ? r.data : undefined;
}

export async function serverModel(): Promise<CommandModel> {
  const mod = (await import(
    pathToFileURL(join(ROOT, 'packages/server/dist/src/config/server-config.js')).href
  )) as ServerConfigModule;
  const shape = mod.serverConfigSchema.shape as Record<string, unknown>;
  const flags = new Map<string, { boolean: boolean; multiple: boolean }>();
  const envVars = new Map<string, string>();
  for (const [flag, def] of Object.entries(mod.SERVER_FLAGS)) {
    flags.set(flag, { boolean: def.type === 'boolean', multiple: 'multiple' in def && def.multiple === true });
    envVars.set(mod.envName(flag), flag);
  }
  return {
    command: 'server',
    source: 'packages/server/src/config/server-config.ts (serverConfigSchema, SERVER_FLAGS, envName)',
    flags,
    schemaKeys: new Set(Object.keys(shape)),
    flagKey: camel,
    envVars,
    load(args, env) {
      const c = mod.loadServerConfig(args, env);
      return { listen: c.listen, dns: null };
    },
    defaults: { listen: String(defaultOf(shape, 'listen')), dns: null },
  };
}

/** The parts of federation/config/federation-config.ts this test uses. */
interface FederationConfigModule {
  readonly federationConfigSchema: { readonly shape: Record<string, unknown> };
  readonly FEDERATION_FLAGS: Record<string, { readonly type: string; readonly multiple?: boolean }>;
  federationEnvName(flag: string): string;
  loadFederationConfig(argv: readonly string[], env: Record<string, string>): { listen: string; dns: string | null };
}

export type FederationModel = { readonly model: CommandModel } | { readonly skip: string };

export async function federationModel(): Promise<FederationModel> {
  const file = join(ROOT, 'packages/server/dist/src/federation/config/federation-config.js');
  if (existsSync(file)) {
    const mod = (await import(pathToFileURL(file).href)) as Partial<FederationConfigModule>;
    const missing = ['federationConfigSchema', 'FEDERATION_FLAGS', 'federationEnvName', 'loadFederationConfig'].filter(
      (k) => !(k in mod),
    );
    if (missing.length > 0) {
      throw new Error(`federation-config.js no longer exports ${missing.join(', ')}: update test/deploy/cli-model.ts`);
    }
    const m = mod as FederationConfigModule;
    const shape = m.federationConfigSchema.shape;
    const flags = new Map<string, { boolean: boolean; multiple: boolean }>();
    const envVars = new Map<string, string>();
    for (const [flag, def] of Object.entries(m.FEDERATION_FLAGS)) {
      flags.set(flag, { boolean: def.type === 'boolean', multiple: def.multiple === true });
      envVars.set(m.federationEnvName(flag), flag);
    }
    const dnsDefault = defaultOf(shape, 'dns');
    return {
      model: {
        command: 'federation',
        source: 'packages/server/src/federation/config/federation-config.ts (federationConfigSchema, FEDERATION_FLAGS)',
        flags,
        schemaKeys: new Set(Object.keys(shape)),
        flagKey: (flag) => (flag === 'zone' ? 'zones' : camel(flag)),
        envVars,
        load(args, env) {
          const c = m.loadFederationConfig(args, env);
          return { listen: c.listen, dns: c.dns };
        },
        defaults: {
          listen: String(defaultOf(shape, 'listen')),
          dns: typeof dnsDefault === 'string' ? dnsDefault : null,
        },
      },
    };
  }
  // No config module: fall back on the CLI's own help.
  const help = spawnSync(process.execPath, [CLI, 'federation', '--help'], { encoding: 'utf8', timeout: 10_000 });
  if (help.status !== 0) {
    return { skip: 'the federation has neither a config module nor a `cairn federation --help` yet' };
  }
  const flags = new Map<string, { boolean: boolean; multiple: boolean }>();
  const envVars = new Map<string, string>();
  let last = '';
  for (const line of help.stdout.split('\n')) {
    const f = /^\s+--([a-z0-9-]+)(\s+<)?/.exec(line);
    if (f) {
      last = f[1]!;
      flags.set(last, { boolean: f[2] === undefined, multiple: false });
    }
    const e = /\benv (CAIRN_[A-Z0-9_]+)/.exec(line);
    if (e && last) envVars.set(e[1]!, last);
  }
  return {
    model: {
      command: 'federation',
      source: '`cairn federation --help`',
      flags,
      schemaKeys: null,
      flagKey: camel,
      envVars,
      load: null,
      defaults: { listen: '0.0.0.0:8900', dns: '0.0.0.0:8600' },
    },
  };
}

/** Whether `cairn <command>` is a command the CLI runs (its --help exits 0). */
export function cliHasCommand(command: string): boolean {
  const r = spawnSync(process.execPath, [CLI, command, '--help'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}
