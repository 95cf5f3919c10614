/**
 * Summarizes V8 .cpuprofile files (from `npm run bench:raft -- --cpu-prof DIR`): where each replica's
 * CPU time went, by module and by function, self time, idle excluded.
 *
 *   node bench/dist/raft/profile-summary.js DIR [topN] [lastS]
 *
 * lastS keeps only the final seconds of each profile: a replica's profile starts at process start, and
 * module loading would otherwise crowd out the measured window.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly endTime: number;
  readonly startTime: number;
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Groups a script URL into the part of the system it belongs to. */
function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency !== null) return dependency[1]!;
  const raft = /packages\/raft\/dist\/src\/(\w+)\/([\w-]+)\.js/.exec(url);
  if (raft !== null) return `@cairn/raft ${raft[1]}/${raft[2]}`;
  const bench = /bench\/dist\/raft\/([\w-]+)\.js/.exec(url);
  if (bench !== null) return `bench ${bench[1]}`;
  if (url.startsWith('node:'))
    return url
      .replace(/^node:internal\//, 'node:')
      .split('/')
      .slice(0, 2)
      .join('/');
  return url;
}

/** Self time per profile node, over samples taken at or after `fromUs` (profile clock). */
function selfTimesUs(profile: CpuProfile, fromUs: number): Map<number, number> {
  const selfUs = new Map<number, number>();
  let atUs = profile.startTime;
  profile.samples.forEach((nodeId, i) => {
    const deltaUs = profile.timeDeltas[i] ?? 0;
    atUs += deltaUs;
    if (atUs >= fromUs) selfUs.set(nodeId, (selfUs.get(nodeId) ?? 0) + deltaUs);
  });
  return selfUs;
}

function addTo(map: Map<string, number>, key: string, valueUs: number): void {
  map.set(key, (map.get(key) ?? 0) + valueUs);
}

function printTop(title: string, map: Map<string, number>, busyUs: number, topN: number): void {
  process.stdout.write(`  ${title}\n`);
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN);
  for (const [name, us] of rows) {
    process.stdout.write(
      `    ${((us / busyUs) * 100).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}\n`,
    );
  }
}

function summarize(path: string, topN: number, lastS: number): void {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byModule = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyUs = 0;
  let idleUs = 0;
  const fromUs = Number.isFinite(lastS) ? profile.endTime - lastS * 1e6 : profile.startTime;
  for (const [nodeId, us] of selfTimesUs(profile, fromUs)) {
    const { functionName, url, lineNumber } = nodes.get(nodeId)!.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    addTo(byModule, moduleOf(url, functionName), us);
    addTo(byFunction, `${functionName || '(anonymous)'} ${moduleOf(url, functionName)}:${lineNumber + 1}`, us);
  }
  const totalS = (busyUs + idleUs) / 1e6;
  process.stdout.write(`${path}: busy ${(busyUs / 1e6).toFixed(2)} s of ${totalS.toFixed(2)} s\n`);
  printTop('self time by module', byModule, busyUs, topN);
  printTop('self time by function', byFunction, busyUs, topN);
}

const [dir, topText, lastText] = process.argv.slice(2);
if (dir === undefined) {
  process.stderr.write('usage: node bench/dist/raft/profile-summary.js DIR [topN] [lastS]\n');
  process.exit(2);
}
for (const file of readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'))) {
  summarize(join(dir, file), Number(topText ?? 25), Number(lastText ?? Number.POSITIVE_INFINITY));
}
