import type { z } from 'zod';

/** One zone the federation watches: its name and the base URLs of its registry replicas. */
export interface ZoneEndpoints {
  readonly zone: string;
  /** `http(s)://host:port`, without a trailing slash, in the order given. */
  readonly replicas: readonly string[];
}

export const ZONE_ENDPOINT_LIMITS = {
  zonesMax: 32,
  replicasPerZoneMax: 16,
} as const;

/** The zone registry's own rule for zone names (`cairn server --zone`). */
export const ZONE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Zones as a flag or env var write them: `az1=http://h:p,http://h:p` for one zone; several zones are
 * separated by `;` (env `CAIRN_ZONES`) or given as repeated `--zone` flags. A config file may also use
 * `{"az1": ["http://h:p", ...]}` or `[{"zone": "az1", "replicas": [...]}]`.
 */
export type ZonesInput = string | readonly string[] | Readonly<Record<string, string | readonly string[]>>;

/** Parses and checks every zone; reports each problem on `ctx` (under `zones`) and returns what is valid. */
export function parseZones(input: unknown, ctx: z.RefinementCtx): ZoneEndpoints[] {
  const specs = toSpecs(input, ctx);
  const out: ZoneEndpoints[] = [];
  const seenUrls = new Map<string, string>();
  for (const { zone, urls } of specs) {
    const problem = (message: string) => ctx.addIssue({ code: 'custom', path: ['zones'], message });
    if (!ZONE_NAME.test(zone)) {
      problem(`zone name '${zone}' must be lower-case letters, digits and - (as given to cairn server --zone)`);
      continue;
    }
    if (out.some((z) => z.zone === zone)) {
      problem(`zone '${zone}' is given twice; list all its replicas in one entry`);
      continue;
    }
    if (urls.length === 0) {
      problem(`zone '${zone}' has no replica URLs; write ${zone}=http://host:port[,http://host:port...]`);
      continue;
    }
    if (urls.length > ZONE_ENDPOINT_LIMITS.replicasPerZoneMax) {
      problem(`zone '${zone}' lists ${urls.length} replicas; at most ${ZONE_ENDPOINT_LIMITS.replicasPerZoneMax}`);
      continue;
    }
    const replicas: string[] = [];
    for (const raw of urls) {
      const url = normalizeReplicaUrl(raw);
      if (typeof url !== 'string') {
        problem(`zone '${zone}': '${raw}' ${url.error}`);
        continue;
      }
      const other = seenUrls.get(url);
      if (other !== undefined) {
        problem(
          other === zone
            ? `zone '${zone}' lists ${url} twice`
            : `${url} is listed in both zone '${other}' and '${zone}'`,
        );
        continue;
      }
      seenUrls.set(url, zone);
      replicas.push(url);
    }
    out.push({ zone, replicas });
  }
  if (specs.length === 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['zones'],
      message: 'give at least one zone: --zone az1=http://host:port[,http://host:port...] (or CAIRN_ZONES)',
    });
  }
  if (out.length > ZONE_ENDPOINT_LIMITS.zonesMax) {
    ctx.addIssue({ code: 'custom', path: ['zones'], message: `at most ${ZONE_ENDPOINT_LIMITS.zonesMax} zones` });
  }
  return out;
}

interface ZoneSpec {
  readonly zone: string;
  readonly urls: readonly string[];
}

function toSpecs(input: unknown, ctx: z.RefinementCtx): ZoneSpec[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string')
    return splitZoneList(input)
      .map((s) => fromText(s, ctx))
      .filter(isSpec);
  if (Array.isArray(input)) {
    const out: ZoneSpec[] = [];
    for (const item of input as unknown[]) {
      if (typeof item === 'string') {
        for (const s of splitZoneList(item)) {
          const spec = fromText(s, ctx);
          if (spec) out.push(spec);
        }
      } else if (item && typeof item === 'object' && typeof (item as { zone?: unknown }).zone === 'string') {
        const { zone, replicas } = item as { zone: string; replicas?: unknown };
        out.push({ zone, urls: urlList(replicas) });
      } else {
        ctx.addIssue({
          code: 'custom',
          path: ['zones'],
          message: 'each zone must be "name=url,url" or {"zone": "name", "replicas": ["url", ...]}',
        });
      }
    }
    return out;
  }
  if (typeof input === 'object') {
    return Object.entries(input as Record<string, unknown>).map(([zone, urls]) => ({ zone, urls: urlList(urls) }));
  }
  ctx.addIssue({ code: 'custom', path: ['zones'], message: 'zones must be a string, a list or an object' });
  return [];
}

function isSpec(s: ZoneSpec | null): s is ZoneSpec {
  return s !== null;
}

/** `az1=a,b;az2=c` -> ['az1=a,b', 'az2=c'] */
function splitZoneList(text: string): string[] {
  return text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function fromText(text: string, ctx: z.RefinementCtx): ZoneSpec | null {
  const eq = text.indexOf('=');
  if (eq <= 0) {
    ctx.addIssue({
      code: 'custom',
      path: ['zones'],
      message: `'${text}' must be zone=http://host:port[,http://host:port...]`,
    });
    return null;
  }
  return { zone: text.slice(0, eq).trim(), urls: urlList(text.slice(eq + 1)) };
}

function urlList(v: unknown): string[] {
  if (typeof v === 'string') {
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  if (Array.isArray(v)) return (v as unknown[]).map((s) => String(s).trim()).filter((s) => s !== '');
  return [];
}

/** `http://host:port[/]` -> `http://host:port`; anything else (a path, a query, credentials) is refused. */
export function normalizeReplicaUrl(raw: string): string | { error: string } {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    return { error: 'must be a URL like http://host:port (the scheme is required)' };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { error: 'is not a valid URL; write http://host:port' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { error: `uses ${url.protocol.slice(0, -1)}; only http and https replicas are supported` };
  }
  if (url.username || url.password) return { error: 'must not carry credentials' };
  if (url.pathname !== '/' || url.search || url.hash) {
    return { error: 'must be the replica base URL without a path, query or fragment (http://host:port)' };
  }
  if (!url.hostname) return { error: 'has no host' };
  return `${url.protocol}//${url.host}`;
}
