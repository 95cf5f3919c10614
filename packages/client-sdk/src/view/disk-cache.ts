import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Instance, ServiceRef } from '../instance.js';

/** Where a view came from: the zone's registry, or the federation (other zones' instances). */
export type SourceName = 'local' | 'federation';

export interface CachedSource {
  readonly revision: number;
  readonly instances: readonly Instance[];
}

/** One service's view as written to disk. */
export interface CachedService extends ServiceRef {
  readonly format: 1;
  readonly savedAtMs: number;
  /** When the view was last known to match the registry; a loaded view is stale since then. */
  readonly freshAtMs: number;
  readonly sources: Partial<Record<SourceName, CachedSource>>;
}

const FILE_BYTES_MAX = 64 * 1024 * 1024;
const INSTANCES_MAX = 100_000;

/**
 * The failover cache: every service's view in its own JSON file under `dir`, written atomically
 * (a temp file, fsynced, then renamed over the old one) so a crash never leaves a torn file, and
 * read back when the process starts with no registry reachable. Writes of one service are
 * coalesced: at most one in flight, and the newest view wins.
 */
export class DiskCache {
  private readonly pending = new Map<string, { next: CachedService | null; running: Promise<void> }>();
  private dirReady: Promise<void> | null = null;

  constructor(
    readonly dir: string,
    private readonly onError: (err: unknown, what: string) => void = () => {},
  ) {}

  fileOf(ref: ServiceRef): string {
    const enc = encodeURIComponent;
    return join(this.dir, `${enc(ref.namespace)}~${enc(ref.group)}~${enc(ref.service)}.json`);
  }

  /** The cached view, or null when there is none or it cannot be trusted (torn, foreign, corrupt). */
  async load(ref: ServiceRef): Promise<CachedService | null> {
    let text: string;
    try {
      text = await readFile(this.fileOf(ref), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(err, `reading ${this.fileOf(ref)}`);
      return null;
    }
    try {
      if (text.length > FILE_BYTES_MAX) throw new Error('file too large');
      const parsed = parseCachedService(JSON.parse(text));
      if (parsed.namespace !== ref.namespace || parsed.group !== ref.group || parsed.service !== ref.service) {
        throw new Error('the file is for another service');
      }
      return parsed;
    } catch (err) {
      this.onError(err, `ignoring the cache file ${this.fileOf(ref)}`);
      return null;
    }
  }

  /** Schedules a write; returns at once. */
  save(view: CachedService): void {
    const file = this.fileOf(view);
    const p = this.pending.get(file);
    if (p) {
      p.next = view;
      return;
    }
    const entry = { next: null as CachedService | null, running: Promise.resolve() };
    this.pending.set(file, entry);
    entry.running = (async () => {
      let current: CachedService | null = view;
      while (current !== null) {
        try {
          await this.write(file, current);
        } catch (err) {
          this.onError(err, `writing ${file}`);
        }
        current = entry.next;
        entry.next = null;
      }
      this.pending.delete(file);
    })();
  }

  /** Resolves once every scheduled write has landed. */
  async flush(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending.values()].map((p) => p.running));
  }

  private async write(file: string, view: CachedService): Promise<void> {
    this.dirReady ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    await this.dirReady;
    const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(view));
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

// -------------------------------------------------------------------------------------------------
// Reading back: the file came from disk, so it is checked like any other input.
// -------------------------------------------------------------------------------------------------

function parseCachedService(v: unknown): CachedService {
  const o = record(v, 'file');
  if (o.format !== 1) throw new Error(`unknown cache format ${String(o.format)}`);
  const sources: Partial<Record<SourceName, CachedSource>> = {};
  const s = record(o.sources, 'sources');
  for (const name of ['local', 'federation'] as const) {
    if (s[name] === undefined) continue;
    const src = record(s[name], name);
    const list = src.instances;
    if (!Array.isArray(list) || list.length > INSTANCES_MAX) throw new Error(`${name}.instances is not a list`);
    sources[name] = { revision: num(src.revision, 'revision'), instances: list.map(parseInstance) };
  }
  return {
    format: 1,
    namespace: str(o.namespace, 'namespace'),
    group: str(o.group, 'group'),
    service: str(o.service, 'service'),
    savedAtMs: num(o.savedAtMs, 'savedAtMs'),
    freshAtMs: num(o.freshAtMs, 'freshAtMs'),
    sources,
  };
}

function parseInstance(v: unknown): Instance {
  const o = record(v, 'instance');
  const metadata = record(o.metadata, 'metadata');
  for (const [k, val] of Object.entries(metadata)) str(val, `metadata.${k}`);
  return {
    ...o,
    id: str(o.id, 'id'),
    namespace: str(o.namespace, 'namespace'),
    group: str(o.group, 'group'),
    service: str(o.service, 'service'),
    cluster: str(o.cluster, 'cluster'),
    ip: str(o.ip, 'ip'),
    port: num(o.port, 'port'),
    weight: num(o.weight, 'weight'),
    healthy: bool(o.healthy, 'healthy'),
    enabled: bool(o.enabled, 'enabled'),
    zone: str(o.zone, 'zone'),
    metadata: metadata as Record<string, string>,
    revision: num(o.revision, 'revision'),
  };
}

function record(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} is not an object`);
  return v as Record<string, unknown>;
}

function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what} is not a string`);
  return v;
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${what} is not a number`);
  return v;
}

function bool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new Error(`${what} is not a boolean`);
  return v;
}
