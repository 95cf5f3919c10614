// Keeps deploy/ honest: every manifest parses; every `cairn` invocation in the Dockerfile, the compose
// file and the rendered Kubernetes manifests uses flags and env vars the CLI has (taken from the config
// schemas and flag tables) with values the CLI accepts; every declared port is one the process listens
// on; every probe path is served by a real server; the kustomizations reference files that exist and
// render a three-zone install; the Dockerfile's entrypoint and health check exist; HAProxy accepts its
// config. Docker itself does not run here.
import assert from 'node:assert/strict';
import { type SpawnSyncReturns, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type CommandModel,
  cliHasCommand,
  type FederationModel,
  federationModel,
  portOf,
  ROOT,
  serverModel,
} from './cli-model.js';
import {
  arr,
  type ComposeFile,
  containerProbes,
  copyParts,
  DEPLOY,
  dockerIgnore,
  execForm,
  flagsOf,
  type Invocation,
  isObj,
  type K8sObject,
  k8sObjects,
  kustomize,
  type Obj,
  obj,
  readCompose,
  rel,
  selects,
  str,
  tscOutDirs,
  type Workload,
  walk,
  workloads,
  yamlDocs,
} from './deploy-files.js';
import {
  COMPOSE_FILE,
  cliProblems,
  composeInvocations,
  DOCKERFILE,
  dockerfile,
  dockerfileInvocation,
  federationZones,
  finalStage,
  isCairnService,
  k8sInvocations,
  listeningOf,
  listeningPorts,
  type PodInvocation,
  peersOf,
  setting,
} from './invocations.js';
import { freePort, sleep, spawnCairn, startCairn, stopAll, tempDir, waitFor } from './live.js';

const HAPROXY_CFG = join(DEPLOY, 'haproxy/haproxy.cfg');
const OVERLAY = join(DEPLOY, 'k8s/overlays/three-zones');
const HEALTHCHECK_SCRIPT = join(DEPLOY, 'docker/healthcheck.mjs');
const DEMO_SCRIPT = join(DEPLOY, 'compose/demo/orders.mjs');

let server: CommandModel;
let federation: FederationModel;
let compose: ComposeFile;
let k8s: { objects: K8sObject[]; invocations: PodInvocation[] } | { skip: string } | { error: unknown };
/** Every cairn process deploy/ starts. */
const invocations: Invocation[] = [];
/** Probe paths per command, to be fetched from real servers. */
const probePaths = { server: new Set<string>(), federation: new Set<string>() };

function modelFor(inv: Invocation): CommandModel | { skip: string } {
  const command = inv.args[0];
  if (command === 'server') return server;
  if (command === 'federation') return 'model' in federation ? federation.model : federation;
  throw new Error(`${inv.where}: '${command}' is not a cairn command this test knows (server, federation)`);
}

function zoneOf(inv: Invocation): string | undefined {
  return setting(inv, 'zone', 'CAIRN_ZONE');
}

before(async () => {
  assert.ok(existsSync(join(ROOT, 'packages/server/dist/src/cli/main.js')), 'build first: npx tsc -b');
  server = await serverModel();
  federation = await federationModel();
  const instrs = dockerfile();
  compose = readCompose(COMPOSE_FILE);
  invocations.push(dockerfileInvocation(instrs), ...composeInvocations(compose, instrs));
  try {
    const rendered = kustomize(OVERLAY);
    if ('docs' in rendered) {
      const objects = k8sObjects(rendered.docs);
      const pods = k8sInvocations(objects);
      k8s = { objects, invocations: pods };
      invocations.push(...pods);
    } else {
      k8s = rendered;
    }
  } catch (error) {
    // Reported by the kustomize test; the other checks still run.
    k8s = { error };
  }
  for (const inv of invocations) {
    const command = inv.args[0];
    if (command !== 'server' && command !== 'federation') continue;
    for (const p of inv.probes) if (p.path !== '') probePaths[command].add(p.path);
  }
  // The probes as written in the k8s sources too (all there is when kubectl is not installed).
  for (const f of walk(join(DEPLOY, 'k8s')).filter((x) => /\.ya?ml$/.test(x))) {
    for (const w of workloads(k8sObjects(yamlDocs(readFileSync(f, 'utf8'), rel(f))))) {
      for (const c of arr(w.podSpec['containers']).map(obj)) {
        const command = str(arr(c['args'])[0]);
        if (command !== 'server' && command !== 'federation') continue;
        for (const p of containerProbes(c)) if (p.path !== '') probePaths[command].add(p.path);
      }
    }
  }
  // The image's HEALTHCHECK asks /healthz of whichever command runs.
  probePaths.server.add('/healthz');
  probePaths.federation.add('/healthz');
});

after(stopAll);

describe('deploy/ manifests', { timeout: 120_000 }, () => {
  it('every YAML file under deploy/ parses (all documents)', () => {
    const files = walk(DEPLOY).filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.length >= 10, `expected the compose file and the k8s manifests, found ${files.length} YAML files`);
    for (const f of files) {
      const docs = yamlDocs(readFileSync(f, 'utf8'), rel(f));
      assert.ok(docs.length > 0, `${rel(f)} holds no document`);
    }
  });

  it('every cairn invocation uses flags and CAIRN_* env vars the CLI has, with values it accepts', (t) => {
    assert.ok(invocations.length >= 8, `found only ${invocations.length} cairn invocations`);
    const problems: string[] = [];
    const skipped = new Set<string>();
    for (const inv of invocations) {
      const model = modelFor(inv);
      if ('skip' in model) {
        skipped.add(model.skip);
        continue;
      }
      for (const p of cliProblems(inv, model)) problems.push(`${inv.where}: ${p}`);
    }
    for (const s of skipped) t.diagnostic(`federation invocations not checked: ${s}`);
    assert.deepEqual(problems, []);
  });

  it('every CAIRN_* env var anywhere in deploy/ (patches and env files too) is one the CLI reads', () => {
    const known = new Set<string>(server.envVars.keys());
    if ('model' in federation) for (const k of federation.model.envVars.keys()) known.add(k);
    const problems: string[] = [];
    for (const f of walk(DEPLOY)) {
      if (!/\.(ya?ml|env)$/.test(f) && !/Dockerfile$/.test(f)) continue;
      for (const m of readFileSync(f, 'utf8').matchAll(/\bCAIRN_[A-Z0-9_]+/g)) {
        if (!known.has(m[0])) problems.push(`${rel(f)}: ${m[0]} is read by no cairn command`);
      }
    }
    assert.deepEqual([...new Set(problems)], []);
  });

  it('every flag in the k8s sources (before kustomize) is a flag of its command', (t) => {
    const problems: string[] = [];
    for (const f of walk(join(DEPLOY, 'k8s')).filter((x) => /\.ya?ml$/.test(x))) {
      for (const w of workloads(k8sObjects(yamlDocs(readFileSync(f, 'utf8'), rel(f))))) {
        for (const c of arr(w.podSpec['containers']).map(obj)) {
          const args = arr(c['args']).map(String);
          if (args.length === 0) continue;
          const model = modelFor({ where: rel(f), args, env: {}, ports: [], portsComplete: false, probes: [] });
          if ('skip' in model) {
            t.diagnostic(`${rel(f)}: not checked (${model.skip})`);
            continue;
          }
          const booleans = new Set([...model.flags].filter(([, v]) => v.boolean).map(([k]) => k));
          for (const flag of flagsOf(args.slice(1), booleans)) {
            if (!model.flags.has(flag)) problems.push(`${rel(f)}: --${flag} is not a flag of cairn ${model.command}`);
          }
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('every declared port is one the process listens on, and every probe targets its HTTP port', (t) => {
    const problems: string[] = [];
    for (const inv of invocations) {
      const model = modelFor(inv);
      if ('skip' in model) {
        t.diagnostic(`${inv.where}: not checked (${model.skip})`);
        continue;
      }
      const listening = listeningPorts(listeningOf(inv, model));
      for (const p of inv.ports) {
        if (!listening.some((l) => l.port === p.port && l.protocol === p.protocol)) {
          problems.push(
            `${inv.where}: declares ${p.port}/${p.protocol} (${p.what}) but listens on ${listening.map((l) => `${l.port}/${l.protocol}`).join(', ')}`,
          );
        }
      }
      if (inv.portsComplete) {
        for (const l of listening) {
          if (!inv.ports.some((p) => p.port === l.port && p.protocol === l.protocol)) {
            problems.push(`${inv.where}: listens on ${l.port}/${l.protocol} (${l.kind}) but does not declare it`);
          }
        }
      }
      const http = listening.find((l) => l.kind === 'http')!;
      for (const probe of inv.probes) {
        if (probe.path === '') {
          problems.push(`${inv.where}: ${probe.kind} is not an httpGet probe (${probe.scheme})`);
          continue;
        }
        const port = typeof probe.port === 'number' ? probe.port : inv.ports.find((p) => p.name === probe.port)?.port;
        if (port !== http.port) {
          problems.push(
            `${inv.where}: ${probe.kind} on port ${probe.port} (${port}) is not the HTTP port ${http.port}`,
          );
        }
        const scheme = setting(inv, 'tls-cert', 'CAIRN_TLS_CERT') ? 'HTTPS' : 'HTTP';
        if (probe.scheme !== scheme) problems.push(`${inv.where}: ${probe.kind} uses ${probe.scheme}, not ${scheme}`);
      }
    }
    assert.deepEqual(problems, []);
  });
});

describe('deploy/docker', { timeout: 60_000 }, () => {
  it('builds what the entrypoint runs, as a non-root user with a data volume, exposing the default ports', () => {
    const instrs = dockerfile();
    const stages = [...new Set(instrs.map((i) => i.stage))];
    assert.ok(stages.length >= 2, 'multi-stage: a build stage and a runtime stage');
    const runtime = finalStage(instrs);
    const workdirOf = (stage: string) =>
      instrs.filter((i) => i.stage === stage && i.op === 'WORKDIR').at(-1)?.args ?? '/';
    const runtimeDir = workdirOf(runtime[0]!.stage);

    // ENTRYPOINT: node <path>, the path copied from a build stage's compiled output, and built here.
    const entry = runtime.filter((i) => i.op === 'ENTRYPOINT').at(-1);
    assert.ok(entry, 'the runtime stage has an ENTRYPOINT');
    const [node, script] = execForm(entry.args);
    assert.equal(node, 'node');
    assert.equal(script, 'packages/server/dist/src/cli/main.js');
    const scriptInImage = posix.resolve(runtimeDir, script!);
    const copies = runtime.filter((i) => i.op === 'COPY').map((i) => ({ ...copyParts(i.args), line: i.line }));
    const carrying = copies.find((c) => {
      const dest = posix.resolve(runtimeDir, c.dest);
      return c.from !== null && (scriptInImage === dest || scriptInImage.startsWith(`${dest}/`));
    });
    assert.ok(carrying, `no COPY --from=<build stage> puts ${scriptInImage} in the image`);
    assert.ok(existsSync(join(ROOT, script!)), `${script} does not exist after npx tsc -b`);

    // Everything copied from the build stage is either compiled by its `tsc -b` or a source it copied in.
    for (const from of new Set(copies.map((c) => c.from).filter((f) => f !== null))) {
      const stage = instrs.filter((i) => i.stage === from);
      assert.ok(stage.length > 0, `COPY --from=${from}: no such stage`);
      const buildDir = workdirOf(from);
      const tsc = stage.find((i) => i.op === 'RUN' && /tsc -b\b/.test(i.args));
      assert.ok(tsc, `stage ${from} runs no tsc -b`);
      const projects = tsc.args
        .slice(tsc.args.indexOf('tsc -b') + 'tsc -b'.length)
        .split(/\s+/)
        .filter((w) => w !== '' && !w.startsWith('-'));
      const outDirs = tscOutDirs(projects.length > 0 ? projects : ['.']);
      for (const c of copies.filter((x) => x.from === from)) {
        for (const src of c.sources) {
          const repoPath = resolve(ROOT, posix.relative(buildDir, posix.resolve(buildDir, src)));
          const compiled = outDirs.some((o) => repoPath === o || repoPath.startsWith(`${o}/`));
          assert.ok(
            compiled || existsSync(repoPath),
            `Dockerfile line ${c.line}: ${src} is neither compiled by \`${tsc.args}\` nor a source in the repo`,
          );
        }
      }
    }

    // The npm ci of the runtime stage installs production dependencies only.
    assert.ok(
      runtime.some((i) => i.op === 'RUN' && /npm ci\b.*--omit=dev/.test(i.args)),
      'runtime stage: npm ci --omit=dev',
    );

    // Non-root, a data volume that holds the default command's data dir.
    const user = runtime.filter((i) => i.op === 'USER').at(-1)?.args;
    assert.ok(user && !/^(root|0)(:|$)/.test(user), `runtime USER must not be root (is ${user ?? 'unset'})`);
    const volumes = runtime
      .filter((i) => i.op === 'VOLUME')
      .flatMap((i) => (i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/)));
    assert.ok(volumes.includes('/var/lib/cairn'), 'VOLUME /var/lib/cairn');
    const cmd = dockerfileInvocation(instrs);
    assert.equal(cmd.args[0], 'server', 'the default command runs a zone replica');
    const dataDir = setting(cmd, 'data-dir', 'CAIRN_DATA_DIR');
    assert.ok(dataDir?.startsWith('/var/lib/cairn/'), `the default --data-dir (${dataDir}) is inside the volume`);

    // EXPOSE: the default ports of both commands.
    const exposed = new Set(
      runtime
        .filter((i) => i.op === 'EXPOSE')
        .flatMap((i) => i.args.split(/\s+/))
        .map((p) => (p.includes('/') ? p.toLowerCase() : `${p}/tcp`)),
    );
    const want = [`${portOf(listeningOf(cmd, server).listen)}/tcp`, `${portOf(server.defaults.listen)}/tcp`];
    if ('model' in federation) {
      want.push(`${portOf(federation.model.defaults.listen)}/tcp`);
      const dns = federation.model.defaults.dns;
      if (dns) want.push(`${portOf(dns)}/udp`, `${portOf(dns)}/tcp`);
    }
    for (const w of want) assert.ok(exposed.has(w), `EXPOSE ${w} (exposed: ${[...exposed].join(' ')})`);

    // HEALTHCHECK: node runs the health check script, which the image copies from deploy/docker.
    const hc = runtime.find((i) => i.op === 'HEALTHCHECK');
    assert.ok(hc, 'the runtime stage has a HEALTHCHECK');
    const hcCmd = execForm(hc.args.slice(hc.args.indexOf('CMD') + 3).trim());
    assert.equal(hcCmd[0], 'node', 'the health check runs with node (no curl in slim images)');
    const hcScript = posix.resolve(runtimeDir, hcCmd[1]!);
    const hcCopy = copies.find((c) => c.from === null && posix.resolve(runtimeDir, c.dest) === hcScript);
    assert.ok(hcCopy, `no COPY puts ${hcScript} in the image`);
    assert.equal(resolve(ROOT, hcCopy.sources[0]!), HEALTHCHECK_SCRIPT);
  });

  it('sends the build every source it copies, and no local builds, dependencies or data', () => {
    const ignoreFile = `${DOCKERFILE}.dockerignore`;
    assert.ok(existsSync(ignoreFile), `${rel(ignoreFile)} (BuildKit reads it for this Dockerfile)`);
    const ignored = dockerIgnore(readFileSync(ignoreFile, 'utf8'));
    const problems: string[] = [];
    for (const i of dockerfile().filter((x) => x.op === 'COPY' || x.op === 'ADD')) {
      const c = copyParts(i.args);
      if (c.from !== null) continue;
      for (const src of c.sources) {
        const path = join(ROOT, src);
        if (!existsSync(path)) {
          problems.push(`line ${i.line}: ${src} does not exist`);
          continue;
        }
        const files = statSync(path).isDirectory()
          ? walk(path).filter((f) => !/\/(node_modules|dist)\/|\.tsbuildinfo$/.test(f))
          : [path];
        for (const f of files) if (ignored(relative(ROOT, f))) problems.push(`line ${i.line}: ${rel(f)} is ignored`);
      }
    }
    for (const p of [
      'packages/server/dist/src/cli/main.js',
      'node_modules/yaml/package.json',
      'packages/server/node_modules/x/package.json',
      'data/dev/az1-n1/CURRENT',
      'packages/server/tsconfig.tsbuildinfo',
    ]) {
      if (!ignored(p)) problems.push(`${p} would be sent to the build`);
    }
    assert.deepEqual(problems, []);
  });
});

describe('deploy/compose', () => {
  it('runs two zones of three replicas, a federation over all six, HAProxy and a demo service', () => {
    const cairn = [...compose.services.values()].filter(isCairnService);
    const inv = new Map(
      composeInvocations(compose, dockerfile()).map((i) => [i.where.replace('compose service ', ''), i]),
    );
    const servers = cairn.filter((s) => inv.get(s.name)!.args[0] === 'server');
    const feds = cairn.filter((s) => inv.get(s.name)!.args[0] === 'federation');
    for (const s of cairn) {
      for (const f of s.envFiles) assert.ok(existsSync(f), `${s.name}: env_file ${rel(f)} does not exist`);
      assert.ok(s.dockerfile === undefined || existsSync(s.dockerfile), `${s.name}: build dockerfile exists`);
    }

    // Zones: az1 and az2, three replicas each, peers by service name, one volume each, one secret per zone.
    const zones = new Map<string, typeof servers>();
    for (const s of servers) {
      const zone = zoneOf(inv.get(s.name)!) ?? 'default';
      zones.set(zone, [...(zones.get(zone) ?? []), s]);
    }
    assert.deepEqual([...zones.keys()].sort(), ['az1', 'az2']);
    const replicaUrls = new Map<string, string[]>();
    const usedVolumes = new Set<string>();
    for (const [zone, members] of zones) {
      assert.equal(members.length, 3, `zone ${zone} has three replicas`);
      const ids = new Map(members.map((s) => [setting(inv.get(s.name)!, 'node-id', 'CAIRN_NODE_ID') ?? 'n1', s]));
      assert.equal(ids.size, 3, `zone ${zone}: node ids are unique`);
      const secrets = new Set(members.map((s) => setting(inv.get(s.name)!, 'cluster-secret', 'CAIRN_CLUSTER_SECRET')));
      assert.equal(secrets.size, 1, `zone ${zone}: one cluster secret`);
      const secret = [...secrets][0];
      assert.ok(secret && secret.length >= 16, `zone ${zone}: a cluster secret of 16+ characters is set`);
      replicaUrls.set(
        zone,
        members.map((s) => `http://${s.name}:${portOf(listeningOf(inv.get(s.name)!, server).listen)}`).sort(),
      );
      for (const s of members) {
        const i = inv.get(s.name)!;
        const peers = peersOf(i);
        assert.deepEqual([...peers.keys()].sort(), [...ids.keys()].sort(), `${s.name}: --peers lists its zone`);
        for (const [id, addr] of peers) {
          const target = ids.get(id)!;
          const host = addr.slice(0, addr.lastIndexOf(':'));
          assert.equal(host, target.name, `${s.name}: peer ${id} is reached by its service name`);
          assert.equal(
            portOf(addr),
            portOf(listeningOf(inv.get(target.name)!, server).listen),
            `${s.name}: peer ${id} port`,
          );
        }
        const dataDir = setting(i, 'data-dir', 'CAIRN_DATA_DIR') ?? '';
        const mount = s.volumes.find((v) => v.type === 'volume' && dataDir.startsWith(`${v.target}/`));
        assert.ok(mount, `${s.name}: a named volume holds its --data-dir ${dataDir}`);
        assert.ok(compose.namedVolumes.has(mount.source), `${s.name}: volume ${mount.source} is declared`);
        assert.ok(!usedVolumes.has(mount.source), `${s.name}: volume ${mount.source} is its own`);
        usedVolumes.add(mount.source);
      }
    }

    // The federation watches every replica of both zones.
    assert.equal(feds.length, 1, 'one federation service');
    const fed = inv.get(feds[0]!.name)!;
    const fedZones = federationZones(fed);
    assert.deepEqual([...fedZones.keys()].sort(), ['az1', 'az2']);
    for (const [zone, urls] of fedZones)
      assert.deepEqual([...urls].sort(), replicaUrls.get(zone), `federation zone ${zone}`);
    const fedListening = 'model' in federation ? listeningOf(fed, federation.model) : null;

    // HAProxy: the config file mounted where the image reads it, its resolver pointed at the federation.
    const haproxy = [...compose.services.values()].find((s) => s.image?.startsWith('haproxy:'));
    assert.ok(haproxy, 'an haproxy service');
    assert.equal(haproxy.image, 'haproxy:2.6');
    const cfgMount = haproxy.volumes.find((v) => v.target === '/usr/local/etc/haproxy/haproxy.cfg');
    assert.equal(cfgMount?.source, HAPROXY_CFG, 'deploy/haproxy/haproxy.cfg is mounted as the config');
    const dns = haproxy.env['FEDERATION_DNS'] ?? '';
    assert.equal(dns.slice(0, dns.lastIndexOf(':')), feds[0]!.name, 'FEDERATION_DNS names the federation service');
    if (fedListening?.dns)
      assert.equal(portOf(dns), portOf(fedListening.dns), "FEDERATION_DNS is the federation's DNS port");
    assert.ok(haproxy.dependsOn.includes(feds[0]!.name), 'haproxy starts after the federation');
    const cfg = readFileSync(HAPROXY_CFG, 'utf8');
    const binds = [...cfg.matchAll(/^\s*bind\s+\S*:(\d+)/gm)].map((m) => Number(m[1]));
    for (const p of haproxy.ports)
      assert.ok(binds.includes(p.port), `haproxy publishes ${p.port}, which haproxy.cfg binds`);

    // The demo: a script that exists, registering in one zone's replicas, under the name HAProxy resolves.
    const demos = [...compose.services.values()].filter((s) => s.env['REGISTRY_URLS'] !== undefined);
    const demoZones = new Set<string>();
    for (const d of demos) {
      const scriptArg = (d.command ?? []).find((a) => a.endsWith('.mjs') || a.endsWith('.js'));
      assert.ok(scriptArg, `${d.name}: runs a script`);
      const mount = d.volumes.find((v) => v.type === 'bind' && scriptArg.startsWith(`${v.target}/`));
      assert.ok(mount, `${d.name}: ${scriptArg} comes from a bind mount`);
      const local = join(mount.source, scriptArg.slice(mount.target.length));
      assert.equal(local, DEMO_SCRIPT, `${d.name}: runs deploy/compose/demo/orders.mjs`);
      const urls = d.env['REGISTRY_URLS']!.split(',').sort();
      const zone = [...replicaUrls].find(([, u]) => JSON.stringify(u) === JSON.stringify(urls))?.[0];
      assert.ok(zone, `${d.name}: REGISTRY_URLS are every replica of one zone (${urls.join(',')})`);
      demoZones.add(zone);
      const service = d.env['SERVICE_NAME'] ?? 'orders';
      assert.ok(cfg.includes(`_${service}._tcp.service.cairn`), `haproxy.cfg resolves _${service}._tcp.service.cairn`);
    }
    assert.deepEqual([...demoZones].sort(), ['az1', 'az2'], 'a demo service in each zone');
  });
});

describe('deploy/k8s', { timeout: 60_000 }, () => {
  it('every file a kustomization references exists, and every manifest is referenced', () => {
    const kustomizations = walk(join(DEPLOY, 'k8s')).filter((f) => /\/kustomization\.ya?ml$/.test(f));
    assert.ok(kustomizations.length >= 3, 'a base and an overlay');
    const referenced = new Set<string>();
    const problems: string[] = [];
    for (const k of kustomizations) {
      const dir = dirname(k);
      const [doc] = yamlDocs(readFileSync(k, 'utf8'), rel(k));
      const kz = obj(doc);
      const refs: string[] = [];
      for (const key of ['resources', 'components', 'bases', 'crds', 'configurations', 'patchesStrategicMerge']) {
        for (const r of arr(kz[key])) if (typeof r === 'string') refs.push(r);
      }
      for (const key of ['patches', 'patchesJson6902']) {
        for (const p of arr(kz[key])) if (isObj(p) && typeof p['path'] === 'string') refs.push(p['path']);
      }
      for (const key of ['secretGenerator', 'configMapGenerator']) {
        for (const g of arr(kz[key]).map(obj)) {
          for (const f of arr(g['files'])) refs.push(String(f).split('=').at(-1)!);
          for (const f of arr(g['envs'])) refs.push(String(f));
          if (typeof g['env'] === 'string') refs.push(g['env']);
        }
      }
      for (const r of refs) {
        if (/^[a-z]+:\/\//.test(r)) {
          problems.push(`${rel(k)}: ${r} is remote; keep deploy/ self-contained`);
          continue;
        }
        const path = resolve(dir, r);
        referenced.add(path);
        if (!existsSync(path)) problems.push(`${rel(k)}: ${r} does not exist`);
        else if (
          statSync(path).isDirectory() &&
          !['kustomization.yaml', 'kustomization.yml', 'Kustomization'].some((n) => existsSync(join(path, n)))
        ) {
          problems.push(`${rel(k)}: ${r} is a directory without a kustomization`);
        }
      }
    }
    for (const f of walk(join(DEPLOY, 'k8s'))) {
      if (/\/kustomization\.ya?ml$/.test(f) || !/\.(ya?ml|env)$/.test(f)) continue;
      if (!referenced.has(f)) problems.push(`${rel(f)} is referenced by no kustomization`);
    }
    assert.deepEqual(problems, []);
  });

  it('the overlay renders three zones pinned to their zones and a federation of two watching all nine replicas', (t) => {
    if ('error' in k8s) throw k8s.error;
    if ('skip' in k8s) {
      t.skip(k8s.skip);
      return;
    }
    const { objects, invocations: pods } = k8s;
    const all = workloads(objects);
    const services = objects.filter((o) => o.kind === 'Service');
    const pdbs = objects.filter((o) => o.kind === 'PodDisruptionBudget');
    const byWorkload = (w: Workload) => pods.filter((p) => p.workload.obj === w.obj);
    const podsOf = (sel: Obj) => all.filter((w) => selects(sel, w.podLabels));
    const targetPort = (svcPort: Obj, w: Workload): { port: number; protocol: string } | undefined => {
      const target = svcPort['targetPort'] ?? svcPort['port'];
      const protocol = str(svcPort['protocol']) ?? 'TCP';
      for (const c of arr(w.podSpec['containers']).map(obj)) {
        for (const p of arr(c['ports']).map(obj)) {
          if ((str(p['protocol']) ?? 'TCP') !== protocol) continue;
          if (p['name'] === target || p['containerPort'] === target)
            return { port: Number(p['containerPort']), protocol };
        }
      }
      return undefined;
    };

    // Every namespace used exists; every Service selects pods and targets ports they declare.
    const namespaces = new Set(objects.filter((o) => o.kind === 'Namespace').map((o) => o.name));
    for (const o of objects)
      if (o.kind !== 'Namespace')
        assert.ok(namespaces.has(o.namespace), `namespace ${o.namespace} of ${o.kind} ${o.name}`);
    for (const s of services) {
      const spec = obj(s.doc['spec']);
      const selected = podsOf(obj(spec['selector']));
      assert.ok(selected.length > 0, `Service ${s.name} selects some pods`);
      for (const p of arr(spec['ports']).map(obj)) {
        for (const w of selected)
          assert.ok(targetPort(p, w), `Service ${s.name} port ${str(p['name'])} targets a port of ${w.obj.name}`);
      }
    }

    // Zones: one StatefulSet each, three replicas, started together, pinned to a zone of its own.
    const zoneSets = all.filter((w) => byWorkload(w)[0]?.args[0] === 'server');
    assert.equal(zoneSets.length, 3, 'three zone StatefulSets');
    const zoneNames = new Set<string>();
    const nodeZones = new Set<string>();
    const zonePodNames = new Map<string, string[]>();
    /** Per zone: checks a replica address and returns the pod it names. */
    const addressCheckers = new Map<string, (addr: string, what: string) => string>();
    for (const w of zoneSets) {
      const name = `${w.obj.kind} ${w.obj.name}`;
      assert.equal(w.obj.kind, 'StatefulSet', `${name} is a StatefulSet`);
      assert.equal(w.replicas, 3, `${name}: three replicas`);
      const spec = obj(w.obj.doc['spec']);
      assert.equal(spec['podManagementPolicy'], 'Parallel', `${name}: replicas start together (a leader needs two)`);
      const zonePods = byWorkload(w);
      const zones = new Set(zonePods.map(zoneOf));
      assert.equal(zones.size, 1, `${name}: one zone`);
      const zone = [...zones][0]!;
      assert.ok(zone && !zoneNames.has(zone), `${name}: zone ${zone} is its own`);
      zoneNames.add(zone);

      const terms = arr(
        obj(obj(obj(w.podSpec['affinity'])['nodeAffinity'])['requiredDuringSchedulingIgnoredDuringExecution'])[
          'nodeSelectorTerms'
        ],
      );
      const pinned = new Set<string>();
      for (const term of terms.map(obj)) {
        for (const e of arr(term['matchExpressions']).map(obj)) {
          if (e['key'] === 'topology.kubernetes.io/zone' && e['operator'] === 'In')
            for (const v of arr(e['values'])) pinned.add(String(v));
        }
      }
      const selector = obj(w.podSpec['nodeSelector'])['topology.kubernetes.io/zone'];
      if (typeof selector === 'string') pinned.add(selector);
      assert.equal(pinned.size, 1, `${name}: pinned to one topology.kubernetes.io/zone`);
      const nodeZone = [...pinned][0]!;
      assert.ok(!nodeZones.has(nodeZone), `${name}: node zone ${nodeZone} is its own`);
      nodeZones.add(nodeZone);

      // Peer discovery through its headless Service.
      const headless = services.find((s) => s.name === spec['serviceName'] && s.namespace === w.obj.namespace);
      assert.ok(headless, `${name}: serviceName ${String(spec['serviceName'])} exists`);
      const hspec = obj(headless.doc['spec']);
      assert.equal(hspec['clusterIP'], 'None', `${name}: its Service is headless`);
      assert.equal(hspec['publishNotReadyAddresses'], true, `${name}: peers resolve before they are ready`);
      assert.deepEqual(podsOf(obj(hspec['selector'])), [w], `${name}: the headless Service selects exactly its pods`);
      const client = services.find((s) => s !== headless && podsOf(obj(obj(s.doc['spec'])['selector'])).includes(w));
      assert.ok(client, `${name}: a client Service`);

      // A replica's address as peers and the federation write it: <pod>.<service>[.<ns>[.svc[.cluster.local]]]:<port>.
      const resolvesTo = (addr: string, what: string): string => {
        const host = addr.slice(0, addr.lastIndexOf(':'));
        const [pod, svc, ns, ...rest] = host.split('.');
        assert.equal(svc, headless.name, `${what}: ${addr} goes through the headless Service`);
        if (ns !== undefined) assert.equal(ns, w.obj.namespace, `${what}: ${addr} is in namespace ${w.obj.namespace}`);
        assert.ok(
          ['', 'svc', 'svc.cluster.local'].includes(rest.join('.')),
          `${what}: ${addr} has a cluster DNS suffix`,
        );
        assert.ok(w.podNames.includes(pod!), `${what}: ${pod} is a pod of ${name}`);
        const port = arr(hspec['ports'])
          .map(obj)
          .find((p) => Number(p['port']) === portOf(addr));
        assert.ok(port, `${what}: ${addr}'s port is a port of Service ${headless.name}`);
        const podInv = zonePods.find((p) => p.podName === pod)!;
        assert.equal(
          targetPort(port, w)?.port,
          portOf(listeningOf(podInv, server).listen),
          `${what}: ${addr} reaches the HTTP port`,
        );
        return pod!;
      };
      for (const p of zonePods) {
        assert.equal(setting(p, 'node-id', 'CAIRN_NODE_ID'), p.podName, `${p.where}: node id is the pod name`);
        const peers = peersOf(p);
        assert.deepEqual([...peers.keys()].sort(), [...w.podNames].sort(), `${p.where}: --peers lists every pod`);
        for (const [id, addr] of peers) assert.equal(resolvesTo(addr, `${p.where} peer ${id}`), id);
      }
      zonePodNames.set(zone, w.podNames);
      addressCheckers.set(zone, resolvesTo);

      // Disruption budget, probes, resources, non-root, data on a claim.
      const pdb = pdbs.filter((p) => podsOf(obj(obj(p.doc['spec'])['selector'])).includes(w));
      assert.equal(pdb.length, 1, `${name}: one PodDisruptionBudget`);
      assert.deepEqual(
        podsOf(obj(obj(pdb[0]!.doc['spec'])['selector'])),
        [w],
        `${name}: its PDB selects only its pods`,
      );
      assert.equal(obj(pdb[0]!.doc['spec'])['maxUnavailable'], 1, `${name}: PDB maxUnavailable 1`);
      checkPod(w, byWorkload(w)[0]!);
      const claims = arr(spec['volumeClaimTemplates']).map((v) => str(obj(obj(v)['metadata'])['name']));
      const dataDir = setting(zonePods[0]!, 'data-dir', 'CAIRN_DATA_DIR') ?? '';
      const mounts = arr(zonePods[0]!.container['volumeMounts']).map(obj);
      const dataMount = mounts.find(
        (m) => dataDir.startsWith(`${String(m['mountPath'])}/`) || dataDir === m['mountPath'],
      );
      assert.ok(
        dataMount && claims.includes(str(dataMount['name'])),
        `${name}: --data-dir ${dataDir} is on a volumeClaimTemplate`,
      );
      assert.ok(
        obj(w.podSpec['securityContext'])['fsGroup'] !== undefined,
        `${name}: fsGroup makes the volume writable`,
      );
      assert.ok(
        pods.some((p) => p.workload.obj === w.obj && p.env['CAIRN_CLUSTER_SECRET'] !== undefined),
        `${name}: cluster secret from a Secret`,
      );
      const secretRef = arr(zonePods[0]!.container['env'])
        .map(obj)
        .find((e) => e['name'] === 'CAIRN_CLUSTER_SECRET');
      assert.ok(obj(obj(secretRef)['valueFrom'])['secretKeyRef'], `${name}: CAIRN_CLUSTER_SECRET comes from a Secret`);
    }
    assert.equal(zoneNames.size, 3);

    // The federation: a Deployment of two, watching every replica of every zone, HTTP and DNS on its Service.
    const fedSets = all.filter((w) => byWorkload(w)[0]?.args[0] === 'federation');
    assert.equal(fedSets.length, 1, 'one federation Deployment');
    const fw = fedSets[0]!;
    assert.equal(fw.obj.kind, 'Deployment');
    assert.ok(fw.replicas >= 2, 'the federation runs two replicas');
    const fedPod = byWorkload(fw)[0]!;
    assert.equal(setting(fedPod, 'node-id', 'CAIRN_NODE_ID'), fedPod.podName, 'federation node id is the pod name');
    const fedZones = federationZones(fedPod);
    assert.deepEqual([...fedZones.keys()].sort(), [...zoneNames].sort(), 'the federation watches every zone');
    for (const [zone, urls] of fedZones) {
      const check = addressCheckers.get(zone)!;
      const podsSeen = urls.map((u) => {
        const url = new URL(u);
        assert.equal(url.protocol, 'http:');
        return check(url.host, `federation zone ${zone}`);
      });
      assert.deepEqual(podsSeen.sort(), [...zonePodNames.get(zone)!].sort(), `federation zone ${zone}: every replica`);
    }
    checkPod(fw, fedPod);
    if ('model' in federation) {
      const l = listeningOf(fedPod, federation.model);
      const fedSvc = services.filter((s) => podsOf(obj(obj(s.doc['spec'])['selector'])).includes(fw));
      const exposed = fedSvc.flatMap((s) => arr(obj(s.doc['spec'])['ports']).map((p) => targetPort(obj(p), fw)));
      for (const want of listeningPorts(l)) {
        assert.ok(
          exposed.some((e) => e?.port === want.port && e.protocol === want.protocol),
          `a Service exposes the federation's ${want.kind} port ${want.port}/${want.protocol}`,
        );
      }
    }
    const fedPdb = pdbs.filter((p) => podsOf(obj(obj(p.doc['spec'])['selector'])).includes(fw));
    assert.equal(fedPdb.length, 1, 'the federation has a PodDisruptionBudget');
    assert.equal(obj(fedPdb[0]!.doc['spec'])['maxUnavailable'], 1);
  });
});

/** Probes, resources and a non-root security context on a cairn pod. */
function checkPod(w: Workload, p: PodInvocation): void {
  const name = `${w.obj.kind} ${w.obj.name}`;
  const probe = (kind: string) => p.probes.find((x) => x.kind === kind)?.path;
  assert.equal(probe('readinessProbe'), '/readyz', `${name}: readiness on /readyz`);
  assert.equal(probe('livenessProbe'), '/healthz', `${name}: liveness on /healthz`);
  const res = obj(p.container['resources']);
  for (const k of ['cpu', 'memory']) assert.ok(obj(res['requests'])[k] !== undefined, `${name}: requests.${k}`);
  assert.ok(obj(res['limits'])['memory'] !== undefined, `${name}: limits.memory`);
  const podSc = obj(w.podSpec['securityContext']);
  const sc = obj(p.container['securityContext']);
  assert.ok(podSc['runAsNonRoot'] === true || sc['runAsNonRoot'] === true, `${name}: runAsNonRoot`);
  assert.notEqual(sc['runAsUser'] ?? podSc['runAsUser'], 0, `${name}: not uid 0`);
  assert.equal(sc['allowPrivilegeEscalation'], false, `${name}: allowPrivilegeEscalation false`);
}

describe('deploy/haproxy', { timeout: 60_000 }, () => {
  it('resolves orders from the federation DNS with fast re-resolution, zone-local with fallback, and stats', () => {
    const cfg = readFileSync(HAPROXY_CFG, 'utf8');
    const lines = cfg.split('\n').map((l) => l.replace(/#.*$/, '').trim());
    const sections = new Map<string, string[]>();
    let current = '';
    for (const l of lines) {
      if (l === '') continue;
      if (/^(global|defaults|resolvers|backend|frontend|listen|peers|userlist)\b/.test(l)) {
        current = l;
        sections.set(current, []);
      } else sections.get(current)?.push(l);
    }
    const resolvers = [...sections].filter(([k]) => k.startsWith('resolvers '));
    assert.equal(resolvers.length, 1, 'one resolvers section');
    const [resName, body] = resolvers[0]!;
    const ns = body.find((l) => l.startsWith('nameserver '));
    assert.ok(ns, 'a nameserver');
    const m = /"\$\{FEDERATION_DNS-([^}]+)\}"/.exec(ns);
    assert.ok(m, `the nameserver is "\${FEDERATION_DNS-<default>}" (is: ${ns})`);
    if ('model' in federation && federation.model.defaults.dns) {
      assert.equal(portOf(m[1]!), portOf(federation.model.defaults.dns), "the default is the federation's DNS port");
    }
    assert.ok(body.includes('hold valid 1s'), 'hold valid 1s');
    assert.ok(body.includes('accepted_payload_size 8192'), 'accepted_payload_size 8192');
    const templates = [...sections]
      .filter(([k]) => k.startsWith('backend '))
      .flatMap(([k, b]) =>
        b.filter((l) => l.startsWith('server-template ')).map((l) => ({ backend: k.slice(8), line: l, body: b })),
      );
    const fqdns = templates.map((t) => t.line.split(/\s+/)[3]);
    assert.ok(fqdns.includes('_orders._tcp.service.cairn'), 'a backend for _orders._tcp.service.cairn');
    assert.ok(
      fqdns.includes('_orders._tcp.service.az1.cairn'),
      'a zone-local backend for _orders._tcp.service.az1.cairn',
    );
    for (const t of templates) {
      const text = [t.line, ...t.body.filter((l) => l.startsWith('default-server'))].join(' ');
      assert.ok(text.includes(`resolvers ${resName.split(/\s+/)[1]}`), `${t.backend}: uses the resolvers section`);
    }
    const backends = new Set(templates.map((t) => t.backend));
    const fallbacks = [...cfg.matchAll(/use_backend\s+(\S+)\s+if\s+\{\s*nbsrv\((\S+)\)/g)];
    assert.ok(fallbacks.length > 0, 'a use_backend ... if { nbsrv(<zone backend>) ... } fallback');
    for (const f of fallbacks)
      assert.ok(backends.has(f[1]!) && backends.has(f[2]!), `fallback ${f[0]} names real backends`);
    assert.ok(/^\s*stats enable/m.test(cfg), 'a stats page');
  });

  it('haproxy -c accepts the config, standalone and with FEDERATION_DNS set as compose sets it', (t) => {
    const bin = ['/usr/sbin/haproxy', '/usr/local/sbin/haproxy', '/usr/bin/haproxy'].find((b) => existsSync(b));
    if (!bin) {
      t.skip('haproxy is not installed (apt-get install haproxy); config not checked by HAProxy itself');
      return;
    }
    const envs: Record<string, string>[] = [{}, { FEDERATION_DNS: 'localhost:8600' }];
    for (const env of envs) {
      const r: SpawnSyncReturns<string> = spawnSync(bin, ['-c', '-f', HAPROXY_CFG], {
        encoding: 'utf8',
        timeout: 20_000,
        env: { PATH: process.env['PATH'] ?? '', ...env },
      });
      assert.equal(r.status, 0, `haproxy -c (${JSON.stringify(env)}):\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(`${r.stdout}${r.stderr}`, /\[WARNING\]/, 'no warnings');
    }
  });
});

/** Runs the image's health check script against a command line (as /proc/1/cmdline would hold it). */
function healthcheck(
  args: readonly string[],
  env: Record<string, string> = {},
): { status: number | null; out: string } {
  const dir = tempDir('cairn-hc-');
  const file = join(dir, 'cmdline');
  writeFileSync(file, `${['node', '/app/packages/server/dist/src/cli/main.js', ...args].join('\0')}\0`);
  const r = spawnSync(process.execPath, [HEALTHCHECK_SCRIPT, file], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { PATH: process.env['PATH'] ?? '', ...env },
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('against real cairn processes', { timeout: 120_000 }, () => {
  let zoneUrl = '';
  let zonePort = 0;

  before(async () => {
    zonePort = await freePort();
    zoneUrl = `http://127.0.0.1:${zonePort}`;
    const dir = tempDir('cairn-deploy-');
    const args = ['server', '--zone', 'az9', '--node-id', 'n1', '--listen', `127.0.0.1:${zonePort}`];
    await startCairn([...args, '--data-dir', join(dir, 'n1'), '--log-level', 'warn'], zoneUrl, '/readyz');
  });

  it('a zone server serves every probe path the manifests use', async () => {
    assert.ok(probePaths.server.has('/readyz') && probePaths.server.has('/healthz'));
    for (const path of probePaths.server) {
      const res = await fetch(`${zoneUrl}${path}`);
      assert.equal(res.status, 200, `GET ${path} on a ready zone server`);
    }
  });

  it("the image's health check passes on the server's --listen port (flag or env) and fails when nothing listens", async () => {
    const listen = `127.0.0.1:${zonePort}`;
    for (const [args, env] of [
      [['server', '--zone', 'az9', '--listen', listen], {}],
      [['server', `--listen=${listen}`], {}],
      [['server'], { CAIRN_LISTEN: listen }],
    ] as const) {
      const r = healthcheck(args, env);
      assert.equal(r.status, 0, `health check for ${args.join(' ')} ${JSON.stringify(env)}: ${r.out}`);
    }
    const closed = await freePort();
    const r = healthcheck(['server', '--listen', `127.0.0.1:${closed}`]);
    assert.equal(r.status, 1, `nothing on ${closed}: ${r.out}`);
  });

  it('the health check speaks HTTPS to a server started with --tls-cert', async (t) => {
    if (!server.flags.has('tls-cert')) {
      t.skip('cairn server has no --tls-cert');
      return;
    }
    if (spawnSync('openssl', ['version']).status !== 0) {
      t.skip('openssl is not installed; no certificate to test with');
      return;
    }
    const dir = tempDir('cairn-tls-');
    const cert = join(dir, 'cert.pem');
    const key = join(dir, 'key.pem');
    const gen = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    );
    assert.equal(gen.status, 0, gen.stderr);
    const port = await freePort();
    const listen = `127.0.0.1:${port}`;
    const args = ['server', '--zone', 'az8', '--node-id', 'n1', '--listen', listen, '--data-dir', join(dir, 'n1')];
    args.push('--tls-cert', cert, '--tls-key', key, '--log-level', 'warn');
    const p = spawnCairn(args, `https://${listen}`);
    const outcome = await waitFor(`the TLS server to answer (output: ${p.output})`, 30_000, async () => {
      if (p.proc.exitCode !== null) return `exited: ${p.output}`;
      if (healthcheck(['server', '--listen', listen, '--tls-cert', '/etc/cairn/tls.crt']).status === 0) return 'https';
      try {
        if ((await fetch(`http://${listen}/healthz`)).status === 200) return 'http';
      } catch {
        // not listening yet, or speaking TLS
      }
      return undefined;
    });
    if (outcome === 'http') {
      t.skip('cairn server accepts --tls-cert but still serves plain HTTP');
      return;
    }
    assert.equal(outcome, 'https');
    const plain = healthcheck(['server', '--listen', listen]);
    assert.equal(plain.status, 1, 'plain HTTP to a TLS port is unhealthy');
  });

  it('the compose demo service registers in its zone, keeps its lease with heartbeats and deregisters on SIGTERM', async (t) => {
    const port = await freePort();
    const service = 'orders-deploy-test';
    const dead = await freePort();
    const demo = spawn(process.execPath, [DEMO_SCRIPT], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env['PATH'] ?? '',
        // The first replica is down: the demo must move on to the next.
        REGISTRY_URLS: `http://127.0.0.1:${dead},${zoneUrl}`,
        SERVICE_NAME: service,
        PORT: String(port),
        ADVERTISE_IP: '127.0.0.1',
      },
    });
    let out = '';
    demo.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    demo.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((done) => demo.once('exit', (code) => done(code)));
    t.after(() => {
      if (demo.exitCode === null) demo.kill('SIGKILL');
    });
    const q = new URLSearchParams({ service, ip: '127.0.0.1', port: String(port) });
    const instance = async () => {
      const res = await fetch(`${zoneUrl}/v1/instances?${q}`);
      return res.status === 200
        ? ((await res.json()) as { instance: { zone: string; healthy: boolean; ephemeral: boolean } }).instance
        : undefined;
    };
    const registered = await waitFor(`the demo to register (output: ${out})`, 15_000, instance);
    assert.equal(registered.zone, 'az9');
    assert.equal(registered.ephemeral, true);
    const answer = (await (await fetch(`http://127.0.0.1:${port}/`)).json()) as { service: string; zone: string };
    assert.equal(answer.service, service);
    assert.equal(answer.zone, 'az9');
    // Longer than the default lease's unhealthy-after (3 s): only heartbeats keep it healthy.
    await sleep(4000);
    assert.equal((await instance())?.healthy, true, `still healthy after 4 s (output: ${out})`);
    demo.kill('SIGTERM');
    assert.equal(await exited, 0, out);
    assert.equal(await instance(), undefined, 'deregistered on SIGTERM');
  });

  it('a federation node serves every probe path the manifests use, and the health check finds its port', async (t) => {
    if (!cliHasCommand('federation')) {
      t.skip('`cairn federation` is not a CLI command yet; its probe paths are not checked');
      return;
    }
    const port = await freePort();
    const dnsPort = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const args = ['federation', '--node-id', 'fed-test', '--listen', `127.0.0.1:${port}`];
    args.push('--dns', `127.0.0.1:${dnsPort}`, '--zone', `az9=${zoneUrl}`, '--log-level', 'warn');
    await startCairn(args, url, '/healthz');
    for (const path of probePaths.federation) {
      const status = await waitFor(`GET ${path} on the federation to answer 200`, 20_000, async () => {
        const res = await fetch(`${url}${path}`);
        return res.status === 200 ? res.status : undefined;
      });
      assert.equal(status, 200);
    }
    const r = healthcheck(['federation', '--listen', `127.0.0.1:${port}`, '--zone', `az9=${zoneUrl}`]);
    assert.equal(r.status, 0, r.out);
  });
});
