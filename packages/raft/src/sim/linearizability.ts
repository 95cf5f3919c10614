/**
 * A linearizability checker for a key-value register history, after Wing & Gong as refined by Lowe
 * and by Porcupine: a depth-first search for a total order of the operations that respects real time
 * and the register's sequential semantics, memoizing (set of operations linearized, register state)
 * so that no configuration is explored twice. Linearizability is compositional, so each key is
 * checked on its own (P-compositionality): the searches stay small even when the history is long.
 */

export type KvOpName = 'put' | 'get' | 'cas';

/** What an operation asked for. `value` is what put and cas write; `expected` is what cas requires (undefined: the key absent). */
export interface KvInput {
  readonly key: string;
  readonly value?: string;
  readonly expected?: string;
}

/** What an operation returned: get the value it read (undefined: absent), cas whether it swapped; put only `ok`. */
export interface KvOutput {
  readonly ok: boolean;
  readonly value?: string;
}

export interface HistoryOp {
  readonly clientId: number;
  readonly op: KvOpName;
  readonly input: KvInput;
  /** Undefined when the outcome is unknown (a timeout): the op may or may not have taken effect. */
  readonly output: KvOutput | undefined;
  readonly callTime: number;
  /** +Infinity when the outcome is unknown. */
  readonly returnTime: number;
  /** Free text for failure reports, e.g. which server answered; the checker ignores it. */
  readonly note?: string;
}

export type LinearizabilityResult =
  | { readonly kind: 'ok'; readonly steps: number }
  | {
      readonly kind: 'violation';
      readonly key: string;
      readonly steps: number;
      /** The key's history, in call order. */
      readonly ops: readonly HistoryOp[];
      /** The longest order the search could build (indexes into `ops`); the op after it cannot be placed. */
      readonly longestPrefix: readonly number[];
    }
  | { readonly kind: 'unknown'; readonly key: string; readonly steps: number };

export interface CheckOptions {
  /** Search steps over all keys before giving up with 'unknown' (the search is exponential in the worst case). */
  readonly stepsMax?: number;
}

const STEPS_MAX_DEFAULT = 5_000_000;

/** Checks a whole history: linearizable iff every key's sub-history is. Keys are checked in sorted order. */
export function checkLinearizability(history: readonly HistoryOp[], options: CheckOptions = {}): LinearizabilityResult {
  let stepsLeft = options.stepsMax ?? STEPS_MAX_DEFAULT;
  let steps = 0;
  let unknownKey: string | undefined;
  for (const [key, ops] of partitionByKey(history)) {
    const result = checkKey(key, ops, stepsLeft);
    steps += result.steps;
    stepsLeft -= result.steps;
    if (result.kind === 'violation') return { ...result, steps };
    if (result.kind === 'unknown') {
      unknownKey ??= key;
      // Later keys still get a chance to show a violation, which is worth more than 'unknown'.
      if (stepsLeft <= 0) break;
    }
  }
  return unknownKey === undefined ? { kind: 'ok', steps } : { kind: 'unknown', key: unknownKey, steps };
}

function partitionByKey(history: readonly HistoryOp[]): [string, HistoryOp[]][] {
  const byKey = new Map<string, HistoryOp[]>();
  for (const op of history) {
    if (!(op.returnTime >= op.callTime)) throw new Error(`history op returns before it is called: ${describeOp(op)}`);
    // A get whose answer never arrived constrains nothing and changes nothing: leave it out.
    if (op.output === undefined && op.op === 'get') continue;
    const ops = byKey.get(op.input.key);
    if (ops === undefined) byKey.set(op.input.key, [op]);
    else ops.push(op);
  }
  return [...byKey.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, ops]) => [key, withoutUnobservedWrites(ops)]);
}

/**
 * Drops indeterminate writes of a value that no operation observed. Each one branches the search, and
 * leaving it out loses nothing: no read saw its value, so any order that places it still works with
 * it removed (any indeterminate cas it made fail moves to the end). The exception is a cas that
 * reported failure, which such a write may be what explains; keys with one keep all their writes.
 */
function withoutUnobservedWrites(ops: HistoryOp[]): HistoryOp[] {
  if (ops.some((op) => op.op === 'cas' && op.output !== undefined && !op.output.ok)) return ops;
  const observed = new Set<string | undefined>();
  for (const op of ops) {
    if (op.op === 'get' && op.output !== undefined) observed.add(op.output.value);
    if (op.op === 'cas') observed.add(op.input.expected);
  }
  return ops.filter((op) => op.output !== undefined || op.op === 'get' || observed.has(op.input.value));
}

/** The register's sequential semantics: the state after `op`, or null when `op`'s output is impossible from `state`. */
function stepRegister(state: string | undefined, op: HistoryOp): { next: string | undefined } | null {
  const out = op.output;
  switch (op.op) {
    case 'put':
      return { next: op.input.value };
    case 'get':
      return out === undefined || out.value === state ? { next: state } : null;
    case 'cas': {
      const swaps = state === op.input.expected;
      if (out !== undefined && out.ok !== swaps) return null;
      return { next: swaps ? op.input.value : state };
    }
  }
}

/** One call or return event in the doubly linked list the search lifts operations out of. */
interface Event {
  readonly opIndex: number;
  readonly isCall: boolean;
  /** For a call: its return event. */
  match: Event | null;
  prev: Event | null;
  next: Event | null;
}

function buildEventList(ops: readonly HistoryOp[]): Event {
  const events: { time: number; isCall: boolean; opIndex: number; event: Event }[] = [];
  ops.forEach((op, opIndex) => {
    const ret: Event = { opIndex, isCall: false, match: null, prev: null, next: null };
    const call: Event = { opIndex, isCall: true, match: ret, prev: null, next: null };
    // An op with an unknown outcome may take effect at any time after its call.
    const returnTime = op.output === undefined ? Number.POSITIVE_INFINITY : op.returnTime;
    events.push({ time: op.callTime, isCall: true, opIndex, event: call });
    events.push({ time: returnTime, isCall: false, opIndex, event: ret });
  });
  // Calls sort before returns at the same instant: touching intervals count as concurrent, which can
  // only make the checker more permissive, never report a false violation.
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? 0 : a.isCall ? -1 : 1) || a.opIndex - b.opIndex);
  const head: Event = { opIndex: -1, isCall: false, match: null, prev: null, next: null };
  let tail = head;
  for (const { event } of events) {
    tail.next = event;
    event.prev = tail;
    tail = event;
  }
  return head;
}

function lift(call: Event): void {
  const ret = call.match!;
  call.prev!.next = call.next;
  if (call.next !== null) call.next.prev = call.prev;
  ret.prev!.next = ret.next;
  if (ret.next !== null) ret.next.prev = ret.prev;
}

function unlift(call: Event): void {
  const ret = call.match!;
  ret.prev!.next = ret;
  if (ret.next !== null) ret.next.prev = ret;
  call.prev!.next = call;
  if (call.next !== null) call.next.prev = call;
}

class Bitset {
  private readonly words: Uint32Array;
  constructor(bits: number) {
    this.words = new Uint32Array(Math.ceil(bits / 32));
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  key(): string {
    return this.words.join(',');
  }
}

type KeyResult =
  | { kind: 'ok'; steps: number }
  | { kind: 'violation'; key: string; steps: number; ops: HistoryOp[]; longestPrefix: number[] }
  | { kind: 'unknown'; key: string; steps: number };

function checkKey(key: string, unsorted: readonly HistoryOp[], stepsMax: number): KeyResult {
  const ops = [...unsorted].sort((a, b) => a.callTime - b.callTime || a.clientId - b.clientId);
  const head = buildEventList(ops);
  const linearized = new Bitset(ops.length);
  const seen = new Set<string>();
  const stack: { call: Event; before: string | undefined }[] = [];
  // Ops with a known outcome must all be placed; the rest may be placed or left out, and leaving
  // them out is the same as placing them last, after every known outcome.
  let determinateLeft = ops.filter((op) => op.output !== undefined).length;
  let longestPrefix: number[] = [];
  let state: string | undefined;
  let entry = head.next;
  let steps = 0;
  while (determinateLeft > 0) {
    if (++steps > stepsMax) return { kind: 'unknown', key, steps };
    if (entry?.isCall) {
      const op = ops[entry.opIndex]!;
      const after = stepRegister(state, op);
      if (after !== null) {
        linearized.set(entry.opIndex);
        const memo = `${linearized.key()}|${after.next === undefined ? '' : `=${after.next}`}`;
        if (!seen.has(memo)) {
          seen.add(memo);
          stack.push({ call: entry, before: state });
          state = after.next;
          if (op.output !== undefined) determinateLeft--;
          lift(entry);
          if (stack.length > longestPrefix.length) longestPrefix = stack.map((s) => s.call.opIndex);
          entry = head.next;
          continue;
        }
        linearized.clear(entry.opIndex);
      }
      entry = entry.next;
      continue;
    }
    // A return reached with its call still in the list: that op cannot be placed here, so undo the
    // most recent choice and try the next candidate after it.
    const top = stack.pop();
    if (top === undefined) return { kind: 'violation', key, steps, ops, longestPrefix };
    state = top.before;
    linearized.clear(top.call.opIndex);
    if (ops[top.call.opIndex]!.output !== undefined) determinateLeft++;
    unlift(top.call);
    entry = top.call.next;
  }
  return { kind: 'ok', steps };
}

export function describeOp(op: HistoryOp): string {
  const { key, value, expected } = op.input;
  const call =
    op.op === 'put'
      ? `put(${key}, ${value})`
      : op.op === 'get'
        ? `get(${key})`
        : `cas(${key}, ${expected ?? '<absent>'} -> ${value})`;
  const out =
    op.output === undefined
      ? '?'
      : op.op === 'get'
        ? (op.output.value ?? '<absent>')
        : op.op === 'cas'
          ? String(op.output.ok)
          : 'ok';
  const ret = Number.isFinite(op.returnTime) ? String(op.returnTime) : 'inf';
  const note = op.note === undefined ? '' : ` (${op.note})`;
  return `client ${op.clientId} [${op.callTime}, ${ret}] ${call} -> ${out}${note}`;
}

const DESCRIBE_ALL_OPS_MAX = 40;
const DESCRIBE_TAIL_OPS = 10;

/**
 * A readable account of a violation: the key's ops when there are few; otherwise the end of the
 * longest order the search could build and the ops with known outcomes that it could not place.
 */
export function describeViolation(result: Extract<LinearizabilityResult, { kind: 'violation' }>): string {
  const { ops, longestPrefix } = result;
  const line = (i: number): string => `    #${i} ${describeOp(ops[i]!)}`;
  const lines = [`key ${JSON.stringify(result.key)} is not linearizable (${ops.length} ops):`];
  if (ops.length <= DESCRIBE_ALL_OPS_MAX) {
    lines.push(...ops.map((_, i) => line(i)));
    lines.push(`  longest linearizable order: ${longestPrefix.map((i) => `#${i}`).join(' ') || '(none)'}`);
    return lines.join('\n');
  }
  const placed = new Set(longestPrefix);
  const unplaced = ops.map((_, i) => i).filter((i) => !placed.has(i) && ops[i]!.output !== undefined);
  lines.push(`  the longest linearizable order places ${placed.size}; its last ${DESCRIBE_TAIL_OPS}:`);
  lines.push(...longestPrefix.slice(-DESCRIBE_TAIL_OPS).map(line));
  lines.push(`  ops with known outcomes it cannot place (${unplaced.length}, first ${DESCRIBE_TAIL_OPS}):`);
  lines.push(...unplaced.slice(0, DESCRIBE_TAIL_OPS).map(line));
  return lines.join('\n');
}
