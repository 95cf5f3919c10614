// Every `cairn` process deploy/ starts: the image's default CMD, the compose services built from the
// image, and the containers of the rendered Kubernetes manifests (each StatefulSet pod separately, with
// its pod name, namespace and secrets resolved as the kubelet would).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CommandModel, Listening } from './cli-model.js';
import { portOf } from './cli-model.js';
import {
  type ComposeFile,
  type ComposeService,
  containerEnv,
  containerPorts,
  containerProbes,
  DEPLOY,
  type DockerInstruction,
  execForm,
  expandK8s,
  flagsOf,
  flagValue,
  flagValues,
  type Invocation,
  imageName,
  type K8sObject,
  type Obj,
  obj,
  parseDockerfile,
  str,
  type Workload,
  workloads,
} from './deploy-files.js';

export const DOCKERFILE = join(DEPLOY, 'docker/Dockerfile');
export const COMPOSE_FILE = join(DEPLOY, 'compose/docker-compose.yml');

export function dockerfile(): DockerInstruction[] {
  return parseDockerfile(readFileSync(DOCKERFILE, 'utf8'));
}

/** Instructions of the final (runtime) stage. */
export function finalStage(instrs: readonly DockerInstruction[]): DockerInstruction[] {
  const last = instrs.filter((i) => i.op === 'FROM').at(-1);
  return instrs.filter((i) => i.stage === last?.stage);
}

export function imageCmd(instrs: readonly DockerInstruction[]): string[] {
  const cmd = finalStage(instrs)
    .filter((i) => i.op === 'CMD')
    .at(-1);
  if (!cmd) throw new Error('the Dockerfile has no CMD');
  return execForm(cmd.args);
}

export function imageEnv(instrs: readonly DockerInstruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of finalStage(instrs).filter((x) => x.op === 'ENV')) {
    for (const m of i.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g))
      env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

export function dockerfileInvocation(instrs: readonly DockerInstruction[]): Invocation {
  return {
    where: 'deploy/docker/Dockerfile CMD',
    args: imageCmd(instrs),
    env: imageEnv(instrs),
    ports: [],
    portsComplete: false,
    probes: [],
  };
}

/** Compose services that run the cairn image (built from deploy/docker/Dockerfile, or image `cairn`). */
export function isCairnService(s: ComposeService): boolean {
  return s.dockerfile === DOCKERFILE || (s.image !== undefined && imageName(s.image) === 'cairn');
}

export function composeInvocations(compose: ComposeFile, instrs: readonly DockerInstruction[]): Invocation[] {
  const out: Invocation[] = [];
  for (const s of compose.services.values()) {
    if (!isCairnService(s)) continue;
    if (s.entrypoint !== undefined) throw new Error(`compose service ${s.name} overrides the image's entrypoint`);
    out.push({
      where: `compose service ${s.name}`,
      args: s.command ?? imageCmd(instrs),
      env: { ...imageEnv(instrs), ...s.env },
      ports: s.ports,
      portsComplete: false,
      probes: [],
    });
  }
  return out;
}

export interface PodInvocation extends Invocation {
  readonly workload: Workload;
  readonly podName: string;
  readonly container: Obj;
}

/** The cairn containers of rendered manifests, once per pod name. */
export function k8sInvocations(objects: readonly K8sObject[]): PodInvocation[] {
  const out: PodInvocation[] = [];
  for (const w of workloads(objects)) {
    const containers = [
      ...((w.podSpec['initContainers'] as unknown[] | undefined) ?? []),
      ...((w.podSpec['containers'] as unknown[] | undefined) ?? []),
    ];
    for (const raw of containers) {
      const c = obj(raw);
      const image = str(c['image']);
      if (image === undefined || imageName(image) !== 'cairn') continue;
      if (c['command'] !== undefined) {
        throw new Error(`${w.obj.kind} ${w.obj.name}: container ${str(c['name'])} overrides the image's entrypoint`);
      }
      for (const podName of w.podNames) {
        const env = containerEnv(objects, c, { name: podName, namespace: w.obj.namespace });
        const args = ((c['args'] as unknown[] | undefined) ?? []).map((a) => expandK8s(String(a), env));
        const where = `${w.obj.kind} ${w.obj.namespace}/${w.obj.name} pod ${podName} container ${str(c['name'])}`;
        out.push({
          where,
          args,
          env,
          ports: containerPorts(c, where),
          portsComplete: true,
          probes: containerProbes(c),
          workload: w,
          podName,
          container: c,
        });
      }
    }
  }
  return out;
}

/** Where the process listens: from the config loader when there is one, else flags/env/defaults. */
export function listeningOf(inv: Invocation, model: CommandModel): Listening {
  if (model.load) {
    try {
      return model.load(inv.args.slice(1), { ...inv.env });
    } catch {
      // Refused configurations are reported by the CLI check; read the addresses as written.
    }
  }
  const listen = flagValue(inv.args, 'listen') ?? inv.env['CAIRN_LISTEN'] ?? model.defaults.listen;
  const dns = flagValue(inv.args, 'dns') ?? inv.env['CAIRN_DNS'] ?? model.defaults.dns;
  return { listen, dns: dns === 'off' ? null : dns };
}

/** The ports a process listens on: HTTP (TCP), and DNS (UDP and TCP) for the federation. */
export function listeningPorts(l: Listening): { port: number; protocol: 'TCP' | 'UDP'; kind: 'http' | 'dns' }[] {
  const out: { port: number; protocol: 'TCP' | 'UDP'; kind: 'http' | 'dns' }[] = [
    { port: portOf(l.listen), protocol: 'TCP', kind: 'http' },
  ];
  if (l.dns !== null) {
    out.push(
      { port: portOf(l.dns), protocol: 'UDP', kind: 'dns' },
      { port: portOf(l.dns), protocol: 'TCP', kind: 'dns' },
    );
  }
  return out;
}

/** Problems with one invocation's flags and env vars, measured against the CLI model. */
export function cliProblems(inv: Invocation, model: CommandModel): string[] {
  const problems: string[] = [];
  const booleans = new Set([...model.flags].filter(([, v]) => v.boolean).map(([k]) => k));
  const flags = flagsOf(inv.args.slice(1), booleans);
  const seen = new Set<string>();
  for (const f of flags) {
    const def = model.flags.get(f);
    if (!def) {
      problems.push(`--${f} is not a flag of cairn ${model.command} (it has: ${[...model.flags.keys()].join(', ')})`);
      continue;
    }
    if (model.schemaKeys && f !== 'config' && !model.schemaKeys.has(model.flagKey(f))) {
      problems.push(`--${f} sets '${model.flagKey(f)}', which the ${model.command} config schema does not have`);
    }
    if (seen.has(f) && !def.multiple) problems.push(`--${f} is given twice but is not repeatable`);
    seen.add(f);
  }
  for (const name of Object.keys(inv.env)) {
    if (!name.startsWith('CAIRN_')) continue;
    if (!model.envVars.has(name)) {
      problems.push(
        `env ${name} is read by no option of cairn ${model.command} (it reads: ${[...model.envVars.keys()].join(', ')})`,
      );
    }
  }
  if (model.load) {
    try {
      model.load(inv.args.slice(1), { ...inv.env });
    } catch (err) {
      const fields = (err as { fields?: { field: string; message: string }[] }).fields ?? [];
      problems.push(
        `cairn ${model.command} refuses this configuration: ${(err as Error).message}` +
          fields.map((f) => `; ${f.field}: ${f.message}`).join(''),
      );
    }
  }
  return problems;
}

/** `a=h:p,b=h:p` (or a --peers/CAIRN_PEERS value) as a map. */
export function peersOf(inv: Invocation): Map<string, string> {
  const text = flagValue(inv.args, 'peers') ?? inv.env['CAIRN_PEERS'] ?? '';
  const out = new Map<string, string>();
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const eq = pair.indexOf('=');
    out.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  return out;
}

/** A setting from its flag, else its env var. */
export function setting(inv: Invocation, flag: string, env: string): string | undefined {
  return flagValue(inv.args, flag) ?? inv.env[env];
}

/** The federation's zones: repeated --zone, else CAIRN_ZONES (`;` between zones): zone -> replica URLs. */
export function federationZones(inv: Invocation): Map<string, string[]> {
  const specs = flagValues(inv.args, 'zone');
  const list = specs.length > 0 ? specs : (inv.env['CAIRN_ZONES'] ?? '').split(';');
  const out = new Map<string, string[]>();
  for (const spec of list.map((s) => s.trim()).filter((s) => s !== '')) {
    const eq = spec.indexOf('=');
    out.set(
      spec.slice(0, eq).trim(),
      spec
        .slice(eq + 1)
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== ''),
    );
  }
  return out;
}
