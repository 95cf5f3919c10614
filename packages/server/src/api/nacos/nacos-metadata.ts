import { type Metadata, metadataSchema } from '../../registry/model.js';
import { javaSplit } from './nacos-names.js';
import { badRequest } from './nacos-params.js';

/**
 * UtilsAndCommons.parseMetadata: a JSON object of strings, or else `k=v,k2=v2` (each pair must split
 * into exactly a key and a value). Numbers and booleans in the JSON become strings, as Jackson does.
 * The result must also fit cairn's metadata limits (entry count, key and value lengths).
 */
export function parseNacosMetadata(raw: string): Metadata {
  if (raw.trim() === '') return {};
  const fromJson = parseJsonMap(raw);
  return checkedMetadata(fromJson ?? parsePairs(raw), `metadata format incorrect:${raw}`);
}

/** A string map held to cairn's metadata limits; refused with `what (reason)` otherwise. */
export function checkedMetadata(map: Record<string, string>, what: string): Metadata {
  // zod would drop a `__proto__` key silently; refuse it, as the schema refuses the other such keys.
  if (Object.hasOwn(map, '__proto__')) throw badRequest(`${what} (key __proto__ is not allowed)`);
  const r = metadataSchema.safeParse(map);
  if (!r.success) throw badRequest(`${what} (${r.error.issues[0]?.message ?? 'invalid'})`);
  return r.data;
}

function parseJsonMap(raw: string): Record<string, string> | null {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return null;
  }
  return stringMapOf(value);
}

/** A JSON object whose values are scalars, as strings (null values dropped); null for anything else. */
export function stringMapOf(value: unknown): Record<string, string> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(value)) {
    if (v === null) continue;
    if (typeof v === 'string') out.push([k, v]);
    else if (typeof v === 'number' || typeof v === 'boolean') out.push([k, String(v)]);
    else return null;
  }
  // fromEntries defines own properties, so a key like __proto__ stays a key (and is refused later).
  return Object.fromEntries(out);
}

function parsePairs(raw: string): Record<string, string> {
  const out: [string, string][] = [];
  for (const pair of javaSplit(raw, ',')) {
    const kv = javaSplit(pair, '=');
    if (kv.length !== 2) throw badRequest(`metadata format incorrect:${raw}`);
    out.push([kv[0]!, kv[1]!]);
  }
  return Object.fromEntries(out);
}
