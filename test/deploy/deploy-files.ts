// Reading deploy/: YAML (multi-document), the compose file, the Dockerfile and its ignore file, and
// rendered Kubernetes manifests, into the `cairn` invocations they make (arguments, environment,
// declared ports, probes) so the test can hold each against the CLI.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './cli-model.js';

export const DEPLOY = join(ROOT, 'deploy');

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): Obj {
  return isObj(v) ? v : {};
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

export function rel(path: string): string {
  return relative(ROOT, path);
}

/** Every file under dir, sorted. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else out.push(path);
  }
  return out;
}

/** All documents of a YAML file (merge keys `<<` resolved, as docker compose does); throws on any error. */
export function yamlDocs(text: string, where: string): unknown[] {
  const docs = parseAllDocuments(text, { merge: true, prettyErrors: true });
  if (!Array.isArray(docs)) throw new Error(`${where}: not a YAML stream`);
  const out: unknown[] = [];
  for (const doc of docs) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${where}: ${problems.map((e) => e.message).join('; ')}`);
    const value = doc.toJS({ maxAliasCount: 1000 }) as unknown;
    if (value !== null && value !== undefined) out.push(value);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Invocations
// ---------------------------------------------------------------------------------------------

export interface PortDecl {
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
  readonly name?: string;
  readonly what: string;
}

export interface ProbeDecl {
  readonly kind: string;
  readonly path: string;
  readonly port: number | string;
  readonly scheme: string;
}

/** One `cairn` process a manifest starts. */
export interface Invocation {
  readonly where: string;
  /** The CLI arguments after the entrypoint: `[command, ...flags]`. */
  readonly args: readonly string[];
  /** Its environment, with values resolved as the runtime resolves them. */
  readonly env: Readonly<Record<string, string>>;
  /** Ports the manifest declares for the process (container side). */
  readonly ports: readonly PortDecl[];
  /** When true, every port the process listens on must be declared (Kubernetes containerPorts). */
  readonly portsComplete: boolean;
  readonly probes: readonly ProbeDecl[];
}

/** The flags of an argument list: `--a b --c=d --flag` -> [a, c, flag] (values skipped). */
export function flagsOf(args: readonly string[], booleanFlags: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) continue;
    const name = a.slice(2).split('=')[0]!;
    out.push(name);
    if (!a.includes('=') && !booleanFlags.has(name)) i++;
  }
  return out;
}

/** The value of the last `--name v` / `--name=v` in args. */
export function flagValue(args: readonly string[], name: string): string | undefined {
  return flagValues(args, name).at(-1);
}

export function flagValues(args: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === `--${name}` && i + 1 < args.length) out.push(args[++i]!);
    else if (a.startsWith(`--${name}=`)) out.push(a.slice(name.length + 3));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dockerfile and its ignore file
// ---------------------------------------------------------------------------------------------

export interface DockerInstruction {
  readonly op: string;
  readonly args: string;
  /** The stage it belongs to (its `AS` name, or its index). */
  readonly stage: string;
  readonly line: number;
}

export function parseDockerfile(text: string): DockerInstruction[] {
  const out: DockerInstruction[] = [];
  const lines = text.split('\n');
  let stage = '';
  let stages = 0;
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    while (/\\\s*$/.test(line) && i + 1 < lines.length) {
      line = line.replace(/\\\s*$/, ' ');
      i++;
      if (!/^\s*#/.test(lines[i]!)) line += lines[i]!;
    }
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`Dockerfile line ${start + 1}: cannot parse '${line}'`);
    const op = m[1]!.toUpperCase();
    const args = m[2]!.trim();
    if (op === 'FROM') {
      const as = /\s+AS\s+(\S+)\s*$/i.exec(args);
      stage = as ? as[1]! : String(stages);
      stages++;
    }
    out.push({ op, args, stage, line: start + 1 });
  }
  return out;
}

/** An exec-form (JSON array) or shell-form instruction argument as a list. */
export function execForm(args: string): string[] {
  if (args.startsWith('[')) {
    const v = JSON.parse(args) as unknown;
    if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) throw new Error(`not a string array: ${args}`);
    return v as string[];
  }
  return ['/bin/sh', '-c', args];
}

/** COPY/ADD: options, sources and destination. */
export function copyParts(args: string): { from: string | null; sources: string[]; dest: string } {
  const words = args.startsWith('[') ? (JSON.parse(args) as string[]) : args.split(/\s+/);
  let from: string | null = null;
  const rest: string[] = [];
  for (const w of words) {
    if (w.startsWith('--from=')) from = w.slice('--from='.length);
    else if (!w.startsWith('--')) rest.push(w);
  }
  const dest = rest.pop();
  if (dest === undefined || rest.length === 0) throw new Error(`COPY needs sources and a destination: ${args}`);
  return { from, sources: rest, dest };
}

function globRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      i++;
      if (pattern[i + 1] === '/') {
        i++;
        re += '(?:.*/)?';
      } else re += '.*';
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/**
 * A .dockerignore as Docker reads it: the last pattern matching a path (or one of its parent folders)
 * decides; `!` re-includes.
 */
export function dockerIgnore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const p = (negate ? l.slice(1) : l).trim().replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, re: globRegex(p) };
    });
  return (path) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const r of rules) if (prefixes.some((p) => r.re.test(p))) excluded = !r.negate;
    return excluded;
  };
}

/** The outDirs of a TypeScript build (`tsc -b <projects>`), following project references. */
export function tscOutDirs(projects: readonly string[]): string[] {
  const seen = new Set<string>();
  const outs: string[] = [];
  const visit = (dir: string) => {
    const file = dir.endsWith('.json') ? dir : join(dir, 'tsconfig.json');
    if (seen.has(file)) return;
    seen.add(file);
    if (!existsSync(file)) throw new Error(`tsc -b project ${rel(file)} does not exist`);
    const cfg = JSON.parse(readFileSync(file, 'utf8')) as {
      compilerOptions?: { outDir?: string };
      references?: { path: string }[];
    };
    if (cfg.compilerOptions?.outDir) outs.push(resolve(dirname(file), cfg.compilerOptions.outDir));
    for (const r of cfg.references ?? []) visit(resolve(dirname(file), r.path));
  };
  for (const p of projects) visit(resolve(ROOT, p));
  return outs;
}

// ---------------------------------------------------------------------------------------------
// docker compose
// ---------------------------------------------------------------------------------------------

export interface ComposeVolume {
  readonly type: 'volume' | 'bind';
  readonly source: string;
  readonly target: string;
}

export interface ComposeService {
  readonly name: string;
  readonly image: string | undefined;
  readonly dockerfile: string | undefined;
  readonly command: string[] | undefined;
  readonly entrypoint: string[] | undefined;
  readonly env: Record<string, string>;
  readonly envFiles: string[];
  readonly volumes: ComposeVolume[];
  readonly ports: PortDecl[];
  readonly dependsOn: string[];
  readonly raw: Obj;
}

export interface ComposeFile {
  readonly file: string;
  readonly services: ReadonlyMap<string, ComposeService>;
  readonly namedVolumes: ReadonlySet<string>;
}

function words(v: unknown): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v.split(/\s+/).filter((w) => w !== '');
  return arr(v).map((w) => String(w));
}

export function readEnvFile(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const eq = t.indexOf('=');
    if (eq <= 0) throw new Error(`${rel(file)}: '${t}' is not KEY=VALUE`);
    out[t.slice(0, eq).trim()] = t
      .slice(eq + 1)
      .trim()
      .replace(/^(['"])(.*)\1$/, '$2');
  }
  return out;
}

function composePorts(v: unknown, service: string): PortDecl[] {
  return arr(v).map((p) => {
    if (isObj(p)) {
      const protocol = (str(p['protocol']) ?? 'tcp').toUpperCase();
      return { port: Number(p['target']), protocol: protocol as 'TCP' | 'UDP', what: `${service} ports` };
    }
    const s = String(p);
    const [spec, proto = 'tcp'] = s.split('/');
    const container = spec!.split(':').at(-1)!;
    if (!/^\d+$/.test(container)) throw new Error(`compose service ${service}: port '${s}' is not a single port`);
    return { port: Number(container), protocol: proto.toUpperCase() as 'TCP' | 'UDP', what: `${service} ports '${s}'` };
  });
}

function composeVolumes(v: unknown, dir: string): ComposeVolume[] {
  return arr(v).map((m) => {
    if (isObj(m)) {
      const type = str(m['type']) === 'bind' ? 'bind' : 'volume';
      const source = str(m['source']) ?? '';
      return { type, source: type === 'bind' ? resolve(dir, source) : source, target: str(m['target']) ?? '' };
    }
    const [source = '', target = ''] = String(m).split(':');
    const bind = /^[./~]/.test(source);
    return { type: bind ? 'bind' : 'volume', source: bind ? resolve(dir, source) : source, target };
  });
}

export function readCompose(file: string): ComposeFile {
  const [doc, ...more] = yamlDocs(readFileSync(file, 'utf8'), rel(file));
  if (more.length > 0 || !isObj(doc)) throw new Error(`${rel(file)}: expected one mapping document`);
  const dir = dirname(file);
  const services = new Map<string, ComposeService>();
  for (const [name, raw] of Object.entries(obj(doc['services']))) {
    const s = obj(raw);
    const build = s['build'];
    const context = typeof build === 'string' ? build : str(obj(build)['context']);
    const dockerfile =
      build === undefined
        ? undefined
        : resolve(dir, context ?? '.', (isObj(build) ? str(build['dockerfile']) : undefined) ?? 'Dockerfile');
    const envFiles = (typeof s['env_file'] === 'string' ? [s['env_file']] : arr(s['env_file'])).map((f) =>
      resolve(dir, isObj(f) ? (str(f['path']) ?? '') : String(f)),
    );
    const env: Record<string, string> = {};
    for (const f of envFiles) if (existsSync(f)) Object.assign(env, readEnvFile(f));
    const environment = s['environment'];
    if (Array.isArray(environment)) {
      for (const e of environment) {
        const [k, ...v] = String(e).split('=');
        env[k!] = v.join('=');
      }
    } else {
      for (const [k, v] of Object.entries(obj(environment))) env[k] = v === null ? '' : String(v);
    }
    const dependsOn = Array.isArray(s['depends_on']) ? s['depends_on'].map(String) : Object.keys(obj(s['depends_on']));
    services.set(name, {
      name,
      image: str(s['image']),
      dockerfile,
      command: words(s['command']),
      entrypoint: words(s['entrypoint']),
      env,
      envFiles,
      volumes: composeVolumes(s['volumes'], dir),
      ports: composePorts(s['ports'], name),
      dependsOn,
      raw: s,
    });
  }
  return { file, services, namedVolumes: new Set(Object.keys(obj(doc['volumes']))) };
}

// ---------------------------------------------------------------------------------------------
// Kubernetes
// ---------------------------------------------------------------------------------------------

export interface K8sObject {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string;
  readonly doc: Obj;
}

export function k8sObjects(docs: readonly unknown[]): K8sObject[] {
  return docs.filter(isObj).map((doc) => {
    const meta = obj(doc['metadata']);
    return {
      kind: str(doc['kind']) ?? '',
      name: str(meta['name']) ?? '',
      namespace: str(meta['namespace']) ?? 'default',
      doc,
    };
  });
}

/** `kubectl kustomize <dir>` when kubectl is installed; null (with the reason) when it is not. */
export function kustomize(dir: string): { docs: unknown[] } | { skip: string } {
  const which = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8', timeout: 20_000 });
  if (which.error || which.status !== 0)
    return { skip: 'kubectl is not installed, so kustomize output is not checked' };
  const r = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000, maxBuffer: 32 << 20 });
  if (r.status !== 0) throw new Error(`kubectl kustomize ${rel(dir)} failed:\n${r.stderr}`);
  return { docs: yamlDocs(r.stdout, `kubectl kustomize ${rel(dir)}`) };
}

export interface Workload {
  readonly obj: K8sObject;
  readonly replicas: number;
  readonly podSpec: Obj;
  readonly podLabels: Record<string, string>;
  /** Pod names to check (every ordinal of a StatefulSet; one made-up name for a Deployment). */
  readonly podNames: string[];
}

export function workloads(objects: readonly K8sObject[]): Workload[] {
  const out: Workload[] = [];
  for (const o of objects) {
    if (!['StatefulSet', 'Deployment', 'DaemonSet', 'Job', 'Pod'].includes(o.kind)) continue;
    const spec = obj(o.doc['spec']);
    const template = o.kind === 'Pod' ? o.doc : obj(spec['template']);
    const replicas = typeof spec['replicas'] === 'number' ? spec['replicas'] : 1;
    const podNames =
      o.kind === 'StatefulSet'
        ? Array.from({ length: replicas }, (_, i) => `${o.name}-${i}`)
        : o.kind === 'Pod'
          ? [o.name]
          : [`${o.name}-6b7f9d5c8-x2x7q`];
    out.push({
      obj: o,
      replicas,
      podSpec: obj(template['spec']),
      podLabels: Object.fromEntries(
        Object.entries(obj(obj(template['metadata'])['labels'])).map(([k, v]) => [k, String(v)]),
      ),
      podNames,
    });
  }
  return out;
}

/** Whether a label selector (matchLabels or a plain map) selects pods with these labels. */
export function selects(selector: Obj, labels: Record<string, string>): boolean {
  const match = isObj(selector['matchLabels']) ? obj(selector['matchLabels']) : selector;
  const entries = Object.entries(match).filter(([k]) => k !== 'matchExpressions');
  return entries.length > 0 && entries.every(([k, v]) => labels[k] === String(v));
}

/** Kubernetes' `$(VAR)` expansion (`$$` escapes); unknown references stay as written. */
export function expandK8s(text: string, vars: Readonly<Record<string, string>>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? vars[name]! : m;
  });
}

function secretValue(objects: readonly K8sObject[], kind: string, namespace: string, name: string, key: string) {
  const o = objects.find((x) => x.kind === kind && x.name === name && x.namespace === namespace);
  if (!o) throw new Error(`${kind} ${namespace}/${name} is not in the rendered manifests`);
  const data = obj(o.doc['data']);
  const stringData = obj(o.doc['stringData']);
  if (typeof stringData[key] === 'string') return stringData[key];
  if (typeof data[key] !== 'string') throw new Error(`${kind} ${namespace}/${name} has no key '${key}'`);
  return kind === 'Secret' ? Buffer.from(data[key], 'base64').toString('utf8') : data[key];
}

/** A container's environment as the kubelet builds it for one pod (envFrom, then env in order). */
export function containerEnv(
  objects: readonly K8sObject[],
  container: Obj,
  pod: { name: string; namespace: string },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of arr(container['envFrom']).map(obj)) {
    const prefix = str(from['prefix']) ?? '';
    for (const kind of ['Secret', 'ConfigMap'] as const) {
      const ref = obj(from[kind === 'Secret' ? 'secretRef' : 'configMapRef']);
      const name = str(ref['name']);
      if (!name) continue;
      const o = objects.find((x) => x.kind === kind && x.name === name && x.namespace === pod.namespace);
      if (!o) throw new Error(`envFrom ${kind} ${name} is not in the rendered manifests`);
      for (const key of [...Object.keys(obj(o.doc['data'])), ...Object.keys(obj(o.doc['stringData']))]) {
        env[prefix + key] = secretValue(objects, kind, pod.namespace, name, key);
      }
    }
  }
  for (const e of arr(container['env']).map(obj)) {
    const name = str(e['name']) ?? '';
    if (typeof e['value'] === 'string' || typeof e['value'] === 'number') {
      env[name] = expandK8s(String(e['value']), env);
      continue;
    }
    const from = obj(e['valueFrom']);
    const field = str(obj(from['fieldRef'])['fieldPath']);
    const secret = obj(from['secretKeyRef']);
    const config = obj(from['configMapKeyRef']);
    if (field === 'metadata.name') env[name] = pod.name;
    else if (field === 'metadata.namespace') env[name] = pod.namespace;
    else if (field === 'status.podIP') env[name] = '10.1.2.3';
    else if (field === 'spec.nodeName') env[name] = 'node-a';
    else if (field !== undefined) env[name] = `<${field}>`;
    else if (str(secret['name']))
      env[name] = secretValue(objects, 'Secret', pod.namespace, str(secret['name'])!, str(secret['key']) ?? '');
    else if (str(config['name']))
      env[name] = secretValue(objects, 'ConfigMap', pod.namespace, str(config['name'])!, str(config['key']) ?? '');
    else env[name] = '';
  }
  return env;
}

export function containerPorts(container: Obj, what: string): PortDecl[] {
  return arr(container['ports']).map((p) => {
    const o = obj(p);
    const name = str(o['name']);
    return {
      port: Number(o['containerPort']),
      protocol: (str(o['protocol']) ?? 'TCP') as 'TCP' | 'UDP',
      ...(name ? { name } : {}),
      what,
    };
  });
}

export function containerProbes(container: Obj): ProbeDecl[] {
  const out: ProbeDecl[] = [];
  for (const kind of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const probe = obj(container[kind]);
    if (Object.keys(probe).length === 0) continue;
    const http = obj(probe['httpGet']);
    if (Object.keys(http).length === 0) {
      out.push({ kind, path: '', port: -1, scheme: Object.keys(probe).join(',') });
      continue;
    }
    const port = http['port'];
    out.push({
      kind,
      path: str(http['path']) ?? '/',
      port: typeof port === 'number' ? port : String(port),
      scheme: str(http['scheme']) ?? 'HTTP',
    });
  }
  return out;
}

/** The repository/name part of an image reference: `ghcr.io/x/cairn:1.2` -> `cairn`. */
export function imageName(image: string): string {
  const noDigest = image.split('@')[0]!;
  const lastSlash = noDigest.lastIndexOf('/');
  const tail = noDigest.slice(lastSlash + 1);
  return tail.split(':')[0]!;
}
