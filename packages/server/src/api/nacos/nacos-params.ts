import type { FastifyRequest } from 'fastify';

/**
 * Nacos reads every parameter through the servlet API, which merges the query string and a
 * form-encoded body: the Node client sends everything in the query string (even for POST, PUT and
 * DELETE, with no body), the Java 1.x client sends `beat` in a form body. As with a servlet, the
 * first value wins and the query string comes before the body.
 */

/** A refusal the way Nacos answers it: an HTTP status and a plain-text body. */
export class NacosError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'NacosError';
    this.status = status;
  }
}

/** 400, as Nacos answers IllegalArgumentException and NacosException(INVALID_PARAM). */
export function badRequest(message: string): NacosError {
  return new NacosError(400, message);
}

/** Bounds on what one request may carry, so a hostile query cannot cost much. */
export const PARAMS_LIMITS = { countMax: 256, valueLengthMax: 64 * 1024 } as const;

export class NacosParams {
  private constructor(private readonly values: ReadonlyMap<string, string>) {}

  static of(entries: Iterable<readonly [string, string]>): NacosParams {
    const values = new Map<string, string>();
    for (const [key, value] of entries) {
      if (values.has(key)) continue;
      if (values.size >= PARAMS_LIMITS.countMax)
        throw badRequest(`too many parameters (at most ${PARAMS_LIMITS.countMax})`);
      if (value.length > PARAMS_LIMITS.valueLengthMax) {
        throw badRequest(`Param '${key}' is too long (at most ${PARAMS_LIMITS.valueLengthMax} characters)`);
      }
      values.set(key, value);
    }
    return new NacosParams(values);
  }

  /** The query string first, then a form body (already parsed into a URLSearchParams by the plugin). */
  static fromRequest(req: FastifyRequest): NacosParams {
    const url = req.raw.url ?? '';
    const q = url.indexOf('?');
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
    const body = req.body instanceof URLSearchParams ? req.body : new URLSearchParams();
    return NacosParams.of([...query, ...body]);
  }

  /** The raw value, or undefined when absent. */
  get(key: string): string | undefined {
    return this.values.get(key);
  }

  /** WebUtils.optional: a blank value (absent, empty or whitespace) gives the default. */
  optional(key: string, defaultValue: string): string {
    const v = this.values.get(key);
    return v === undefined || v.trim() === '' ? defaultValue : v;
  }

  /** WebUtils.required: an absent or empty value is 400 `Param 'key' is required.` */
  required(key: string): string {
    const v = this.values.get(key);
    if (v === undefined || v === '') throw badRequest(`Param '${key}' is required.`);
    return v;
  }

  /** The value of the first key present and not blank, as Nacos reads `enabled` before `enable`. */
  firstOf(keys: readonly string[]): string | undefined {
    for (const k of keys) {
      const v = this.values.get(k);
      if (v !== undefined && v.trim() !== '') return v;
    }
    return undefined;
  }
}

/** Java's Integer.parseInt: digits with an optional sign, in the int range; else 400 as Nacos answers it. */
export function parseJavaInt(value: string): number {
  if (!/^[+-]?\d{1,10}$/.test(value)) throw numberFormat(value);
  const n = Number(value);
  if (n < -2_147_483_648 || n > 2_147_483_647) throw numberFormat(value);
  return n;
}

/** Java's Double.parseDouble (surrounding whitespace allowed, a `d`/`f` suffix allowed); finite only. */
export function parseJavaDouble(value: string): number {
  const v = value.trim();
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[dDfF]?$/.test(v)) throw numberFormat(value);
  const n = Number(v.replace(/[dDfF]$/, ''));
  if (!Number.isFinite(n)) throw numberFormat(value);
  return n;
}

function numberFormat(value: string): NacosError {
  return badRequest(value === '' ? 'empty String' : `For input string: "${value}"`);
}

/** ConvertUtils.toBoolean (from commons-lang): true, on, y, t, yes (any case) are true; anything else false. */
export function toBoolean(value: string): boolean {
  return ['true', 'on', 'y', 't', 'yes'].includes(value.toLowerCase());
}

/** Boolean.parseBoolean: only `true` (any case) is true. */
export function parseBoolean(value: string): boolean {
  return value.toLowerCase() === 'true';
}
