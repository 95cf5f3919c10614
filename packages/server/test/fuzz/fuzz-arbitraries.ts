// fast-check generators of hostile input: names and path segments with tricks in them, numbers as
// text (NaN, huge, negative), JSON documents that JSON.stringify cannot write (NaN, `__proto__` keys,
// deep nesting), metadata maps that break every bound, and mutations of a valid request body.
import fc from 'fast-check';

/** `arb`'s value once in `oneIn` draws, null otherwise (fc.option's `freq` is the other way round). */
export function rarely<T>(arb: fc.Arbitrary<T>, oneIn: number): fc.Arbitrary<T | null> {
  return fc.oneof({ weight: oneIn - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });
}

// -----------------------------------------------------------------------------------------------
// JSON text, including what is not JSON
// -----------------------------------------------------------------------------------------------

/** A JSON object as ordered entries, so keys like `__proto__` survive into the text. */
export class JObj {
  constructor(readonly entries: readonly (readonly [string, JValue])[]) {}
}
/** Text placed as-is (NaN, 1e999, broken fragments). */
export class JRaw {
  constructor(readonly text: string) {}
}
export type JValue = null | boolean | number | string | JValue[] | JObj | JRaw;

export function jsonText(v: JValue): string {
  if (v instanceof JRaw) return v.text;
  if (v instanceof JObj) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  if (typeof v === 'number') return Number.isFinite(v) ? JSON.stringify(v) : String(v);
  return JSON.stringify(v);
}

/** A plain value as a JValue (objects keep their key order). */
export function jvalueOf(v: unknown): JValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (Array.isArray(v)) return v.map(jvalueOf);
  if (typeof v === 'object') return new JObj(Object.entries(v as object).map(([k, x]) => [k, jvalueOf(x)] as const));
  return null;
}

export const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Numbers a schema may not expect: NaN, infinities, negative, huge, fractional, -0, as JSON tokens. */
export const hostileNumber: fc.Arbitrary<JValue> = fc.oneof(
  fc.constantFrom<JValue>(
    new JRaw('NaN'),
    new JRaw('Infinity'),
    new JRaw('-Infinity'),
    new JRaw('1e999'),
    new JRaw('-1e999'),
    new JRaw('1e-400'),
    new JRaw('-0'),
    new JRaw('0x10'),
    new JRaw('01'),
    new JRaw('1.'),
    -1,
    0,
    0.5,
    65_536,
    2 ** 31,
    2 ** 53 + 2,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
  ),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Numbers written as text (query strings, form fields, numbers sent as strings). */
export const hostileNumberText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'NaN',
    'Infinity',
    '-Infinity',
    '-1',
    '0',
    '-0',
    '1e309',
    '1e3',
    '99999999999999999999',
    '2147483648',
    '-2147483649',
    '0x10',
    '1_000',
    ' 5 ',
    '5abc',
    '',
    'null',
    'true',
    '[]',
    '{}',
    '1.5',
    '.5',
    '5.',
    '1d',
    '+7',
    '٣',
  ),
  fc.integer().map(String),
  fc.double().map(String),
);

const shortText = fc.string({ maxLength: 12 });
const unicodeText = fc.string({ unit: 'grapheme', maxLength: 24 });

/** Object keys: field names the API knows, polluting keys, and anything. */
export function keyArb(known: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...(known.length > 0 ? known : ['x'])) },
    { weight: 2, arbitrary: fc.constantFrom(...POLLUTING_KEYS) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'a.b', 'a[b]', '\u0000', 'ключ', '😀', 'x'.repeat(200)) },
    { weight: 2, arbitrary: unicodeText },
  );
}

/** A random JSON document (any shape), keys drawn from `known` and the hostile ones. */
export function jsonValueArb(known: readonly string[] = [], maxDepth = 3): fc.Arbitrary<JValue> {
  const scalar: fc.Arbitrary<JValue> = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    hostileNumber,
    shortText,
    unicodeText,
    fc.constantFrom('', 'true', '1', 'x'.repeat(2000), '\u0000', '\ud800'),
  );
  const { value } = fc.letrec<{ value: JValue }>((tie) => ({
    value: fc.oneof(
      { maxDepth, depthIdentifier: 'json' },
      scalar,
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(keyArb(known), tie('value')), { maxLength: 5 }).map((e) => new JObj(e)),
    ),
  }));
  return value;
}

/** Nesting far deeper than any real document. */
export const deepNesting: fc.Arbitrary<JValue> = fc
  .tuple(fc.integer({ min: 50, max: 20_000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) => new JRaw(open.repeat(depth) + '1' + (open === '[' ? ']' : '}').repeat(depth)));

/** Text that is not JSON at all, or almost. */
export const brokenJsonText: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '{',
    '}',
    '{"a":',
    '[1,2',
    'null',
    'nul',
    '"',
    '{"a":1}}',
    '{"a":1,}',
    "{'a':1}",
    '\u0000',
    '\ufeff{}',
  ),
  fc.string({ maxLength: 64 }),
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
);

// -----------------------------------------------------------------------------------------------
// Metadata
// -----------------------------------------------------------------------------------------------

/** Metadata maps: valid, too many entries, long keys or values, non-string values, nested, polluting keys. */
export const hostileMetadata: fc.Arbitrary<JValue> = fc.oneof(
  fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ maxLength: 16 }), { maxKeys: 4 }).map(jvalueOf),
  fc
    .integer({ min: 60, max: 300 })
    .map((n) => new JObj(Array.from({ length: n }, (_, i) => [`k${i}`, `v${i}`] as const))),
  fc
    .tuple(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 200, max: 1100 }))
    .map(([n, len]) => new JObj(Array.from({ length: n }, (_, i) => [`key-${i}`, 'v'.repeat(len)] as const))),
  fc.integer({ min: 100, max: 300 }).map((len) => new JObj([['k'.repeat(len), 'v']])),
  fc.constantFrom(...POLLUTING_KEYS).map((k) => new JObj([[k, 'x']])),
  fc.constantFrom(...POLLUTING_KEYS).map((k) => new JObj([[k, new JObj([['polluted', 'yes']])]])),
  jsonValueArb(['version', 'region', 'preserved.heart.beat.interval'], 2),
);

// -----------------------------------------------------------------------------------------------
// Names and path segments
// -----------------------------------------------------------------------------------------------

/** A path segment as it goes on the request line: valid names, path tricks, encodings, long, unicode. */
export function pathSegmentArb(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...valid) },
    {
      weight: 4,
      arbitrary: fc.constantFrom(
        '..',
        '.',
        '%2e%2e',
        '%2E%2E%2F%2E%2E',
        '..%2f..%2fetc%2fpasswd',
        '%00',
        'a%00b',
        '%2F',
        'a%2Fb',
        '%5C',
        '%',
        '%zz',
        '%C0%AE',
        '%ff%fe',
        '__proto__',
        'constructor',
        'prototype',
        '%F0%9F%98%80',
        '😀',
        'ünïcödé',
        '%20',
        '~',
        '*',
        'a:b',
        'a;b=c',
        '%3Fx%3D1',
        '%23frag',
        'public%00',
      ),
    },
    { weight: 2, arbitrary: unicodeText.map(encodeURIComponent) },
    { weight: 1, arbitrary: unicodeText.filter((s) => !/[\s?#/]/.test(s)) },
    { weight: 1, arbitrary: fc.integer({ min: 256, max: 4000 }).map((n) => 'x'.repeat(n)) },
  );
}

/** Names in a parameter value (query string, form, JSON): valid, tricks, long, unicode. */
export function nameValueArb(valid: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...valid) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        '',
        ' ',
        '..',
        '../x',
        'a/b',
        'a\\b',
        '\u0000',
        'a\u0000b',
        '__proto__',
        'constructor',
        'prototype',
        '@@',
        'g@@',
        '@@s',
        'a@@b@@c',
        'DEFAULT_GROUP@@x',
        '😀',
        'x'.repeat(256),
        'x'.repeat(70_000),
        'a,b',
        'a=b',
        '%2e%2e',
        '<script>',
        // A log4shell lookup: text, never interpreted.
        '$' + '{jndi:ldap://x}',
      ),
    },
    { weight: 2, arbitrary: unicodeText },
    { weight: 1, arbitrary: hostileNumberText },
  );
}

// -----------------------------------------------------------------------------------------------
// Mutations of a valid body
// -----------------------------------------------------------------------------------------------

/** One hostile value for a field: wrong type, hostile number, array for object, huge text... */
export function hostileFieldValue(known: readonly string[]): fc.Arbitrary<JValue> {
  return fc.oneof(
    hostileNumber,
    fc.constantFrom<JValue>(null, true, false, '', '1', 'x'.repeat(5000), [], [1, 2], new JObj([])),
    hostileMetadata,
    jsonValueArb(known, 2),
    deepNesting,
  );
}

/**
 * A body derived from `template`: unchanged, one or more fields replaced by hostile values, fields
 * removed, unknown or polluting fields added, or the whole body replaced by an array, a scalar or
 * a random document.
 */
export function mutatedBody(template: Record<string, unknown>): fc.Arbitrary<JValue> {
  const fields = Object.keys(template);
  const base = jvalueOf(template) as JObj;
  type Edit = { kind: 'set'; key: string; value: JValue } | { kind: 'drop'; key: string };
  const edit: fc.Arbitrary<Edit> = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), key: keyArb(fields), value: hostileFieldValue(fields) }),
    fc.record({ kind: fc.constant('drop' as const), key: fc.constantFrom(...(fields.length > 0 ? fields : ['x'])) }),
  );
  const edited = fc.array(edit, { minLength: 0, maxLength: 3 }).map((edits) => {
    let entries = [...base.entries];
    for (const e of edits) {
      if (e.kind === 'drop') entries = entries.filter(([k]) => k !== e.key);
      else {
        const i = entries.findIndex(([k]) => k === e.key);
        if (i >= 0) entries[i] = [e.key, e.value];
        else entries.push([e.key, e.value]);
      }
    }
    return new JObj(entries) as JValue;
  });
  return fc.oneof(
    { weight: 8, arbitrary: edited },
    { weight: 1, arbitrary: fc.constant<JValue>([base]) },
    { weight: 1, arbitrary: jsonValueArb(fields, 3) },
    { weight: 1, arbitrary: deepNesting },
  );
}

// -----------------------------------------------------------------------------------------------
// Headers
// -----------------------------------------------------------------------------------------------

export const contentTypeArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom<string | null>(
      null,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json; charset=utf-16',
      'application/json; charset=latin1',
      'application/jsonx',
      'application/*',
      'APPLICATION/JSON',
      'application/octet-stream',
      '',
      ';;;',
      'application/json, text/plain',
    ),
  },
);

/** Extra header lines: plausible, lying, conflicting or huge. */
export const extraHeadersArb: fc.Arbitrary<(readonly [string, string])[]> = fc.array(
  fc.oneof(
    fc.constantFrom<readonly [string, string]>(
      ['Accept', '*/*'],
      ['Accept', 'text/html'],
      ['Accept-Encoding', 'gzip, br'],
      ['Content-Encoding', 'gzip'],
      ['X-Forwarded-For', '10.9.8.7, 1.2.3.4'],
      ['Authorization', 'Bearer not-a-token'],
      ['Authorization', 'Basic Zm9vOmJhcg=='],
      ['Cookie', 'a=b'],
      ['Expect', '100-continue'],
      ['Upgrade', 'websocket'],
      ['Connection', 'upgrade'],
      ['Origin', 'http://evil.example'],
      ['X-Cairn-Revision', '-1'],
      ['Client-Version', 'Nacos-Java-Client:v2.3.0'],
      ['User-Agent', 'x'.repeat(8000)],
      ['X-Huge', 'h'.repeat(20_000)],
      ['Host', 'evil.example'],
    ),
    fc.tuple(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/),
      fc.string({ maxLength: 40 }).filter((v) => !/[\r\n]/.test(v)),
    ),
  ),
  { maxLength: 3 },
);
