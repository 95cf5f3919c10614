/** Metadata labels an instance must all carry to serve a call (canary and blue-green routes). */
export type Labels = Readonly<Record<string, string>>;

export function matchesLabels(metadata: Readonly<Record<string, string>>, labels: Labels): boolean {
  for (const key in labels) {
    if (!Object.hasOwn(labels, key)) continue;
    if (metadata[key] !== labels[key]) return false;
  }
  return true;
}

const keysByObject = new WeakMap<Labels, string>();

/**
 * A stable key for a selector ('' for none), so plans can be cached per selector: each key and value
 * prefixed by its length, so no two selectors share one. Remembered per selector object, since
 * callers usually pass the same one.
 */
export function selectorKey(labels: Labels | undefined): string {
  if (labels === undefined) return '';
  const known = keysByObject.get(labels);
  if (known !== undefined) return known;
  const keys = Object.keys(labels);
  if (keys.length > 1) keys.sort();
  let out = '';
  for (const k of keys) {
    const v = labels[k]!;
    out += `${k.length}:${k}${v.length}:${v}`;
  }
  keysByObject.set(labels, out);
  return out;
}
