import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { ConfState, Entry, HardState, Message, SnapshotMeta } from '../../src/core/types.js';
import {
  CodecError,
  decodeConfState,
  decodeEntry,
  decodeFrame,
  decodeHardState,
  decodeMembers,
  decodeSnapshotMeta,
  encodeConfState,
  encodeEntry,
  encodeFrame,
  encodeHardState,
  encodeMembers,
  encodeMessageBody,
  encodeSnapshotMeta,
  frameFromBodies,
  WIRE_VERSION,
} from '../../src/node/codec.js';

// Decoded messages are plain objects; fast-check may otherwise build null-prototype ones.
function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const id = fc.string({ unit: 'grapheme', maxLength: 12 });
const num = fc.oneof(fc.nat(1000), fc.maxSafeNat());
const bytes = fc.uint8Array({ maxLength: 64 });
const base = { from: id, to: id, term: num };

const entry: fc.Arbitrary<Entry> = rec({
  term: num,
  index: num,
  type: fc.constantFrom('normal' as const, 'conf' as const),
  data: bytes,
});
const confState: fc.Arbitrary<ConfState> = rec({
  voters: fc.array(id, { maxLength: 5 }),
  learners: fc.array(id, { maxLength: 3 }),
});
const snapshotMeta: fc.Arbitrary<SnapshotMeta> = rec({ index: num, term: num, conf: confState });
const hardState: fc.Arbitrary<HardState> = rec({ term: num, vote: id, commit: num });

const message: fc.Arbitrary<Message> = fc.oneof(
  rec({
    ...base,
    type: fc.constantFrom('vote' as const, 'preVote' as const),
    lastIndex: num,
    lastTerm: num,
    transfer: fc.boolean(),
  }),
  rec({ ...base, type: fc.constantFrom('voteResp' as const, 'preVoteResp' as const), reject: fc.boolean() }),
  rec({
    ...base,
    type: fc.constant('append' as const),
    prevIndex: num,
    prevTerm: num,
    entries: fc.array(entry, { maxLength: 4 }),
    commit: num,
  }),
  rec({ ...base, type: fc.constant('appendResp' as const), reject: fc.boolean(), index: num, rejectHint: num }),
  rec({ ...base, type: fc.constant('heartbeat' as const), commit: num, readSeq: num }),
  rec({ ...base, type: fc.constant('heartbeatResp' as const), readSeq: num }),
  rec({ ...base, meta: snapshotMeta, offset: fc.nat(1 << 20), chunk: bytes, slackBytes: fc.nat(1 << 20) }).map(
    ({ slackBytes, ...m }) => ({
      ...m,
      type: 'snapshot' as const,
      totalBytes: m.offset + m.chunk.byteLength + slackBytes,
    }),
  ),
  rec({ ...base, type: fc.constant('snapshotResp' as const), index: num, offset: num, reject: fc.boolean() }),
  rec({
    ...base,
    items: fc.array(rec({ type: fc.constantFrom('normal' as const, 'conf' as const), data: bytes, reqId: num }), {
      maxLength: 4,
    }),
  }).map(({ items, ...m }) => ({
    ...m,
    type: 'prop' as const,
    entries: items.map(({ type, data }) => ({ type, data })),
    reqIds: items.map((i) => i.reqId),
  })),
  rec({ ...base, entryTerm: num, pairs: fc.array(fc.tuple(num, num), { maxLength: 4 }) }).map(({ pairs, ...m }) => ({
    ...m,
    type: 'propResp' as const,
    reqIds: pairs.map((p) => p[0]),
    indexes: pairs.map((p) => p[1]),
  })),
  rec({ ...base, type: fc.constant('readIndex' as const), context: id }),
  rec({ ...base, type: fc.constant('readIndexResp' as const), context: id, index: num, reject: fc.boolean() }),
  rec({ ...base, type: fc.constant('timeoutNow' as const) }),
);

function throwsCodecError(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => err instanceof CodecError);
}

describe('codec', () => {
  it('round-trips every message variant, alone and in batches', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
        assert.deepStrictEqual(decodeFrame(encodeFrame(messages)), messages);
      }),
      { numRuns: 2000 },
    );
  });

  it('packs separately encoded bodies into the same frame as encodeFrame', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 6 }), (messages) => {
        assert.deepStrictEqual(frameFromBodies(messages.map(encodeMessageBody)), encodeFrame(messages));
      }),
    );
  });

  it('round-trips stored records', () => {
    fc.assert(
      fc.property(entry, hardState, confState, snapshotMeta, (e, h, c, m) => {
        assert.deepStrictEqual(decodeEntry(encodeEntry(e)), e);
        assert.deepStrictEqual(decodeHardState(encodeHardState(h)), h);
        assert.deepStrictEqual(decodeConfState(encodeConfState(c)), c);
        assert.deepStrictEqual(decodeSnapshotMeta(encodeSnapshotMeta(m)), m);
      }),
    );
    fc.assert(
      fc.property(fc.dictionary(id, id), (dict) => {
        const members = new Map(Object.entries(dict));
        assert.deepStrictEqual(decodeMembers(encodeMembers(members)), members);
      }),
    );
  });

  it('refuses every truncation of a valid frame', () => {
    fc.assert(
      fc.property(fc.array(message, { minLength: 1, maxLength: 3 }), (messages) => {
        const frame = encodeFrame(messages);
        for (let cut = 0; cut < frame.byteLength; cut++) throwsCodecError(() => decodeFrame(frame.subarray(0, cut)));
      }),
      { numRuns: 300 },
    );
  });

  it('refuses trailing bytes, unknown versions and unknown message types', () => {
    const frame = encodeFrame([{ type: 'timeoutNow', from: 'a', to: 'b', term: 3 }]);
    throwsCodecError(() => decodeFrame(Uint8Array.of(...frame, 0)));
    throwsCodecError(() => decodeFrame(Uint8Array.of(WIRE_VERSION + 1, ...frame.subarray(1))));
    const badType = Uint8Array.from(frame);
    badType[2] = 99;
    throwsCodecError(() => decodeFrame(badType));
    // A count of a billion messages in a 3-byte frame must not allocate a billion slots.
    throwsCodecError(() => decodeFrame(Uint8Array.of(WIRE_VERSION, 0x80, 0x94, 0xeb, 0xdc, 0x03)));
  });

  it('on arbitrary bytes either throws CodecError or decodes to a frame that re-encodes to the same bytes', () => {
    const garbage = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Mostly-valid frames with bytes flipped reach much deeper into the decoder than pure noise.
      fc
        .tuple(fc.array(message, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(), fc.nat(255))))
        .map(([messages, flips]) => {
          const frame = Uint8Array.from(encodeFrame(messages));
          for (const [at, value] of flips) frame[at % frame.byteLength] = value;
          return frame;
        }),
    );
    fc.assert(
      fc.property(garbage, (input) => {
        let decoded: Message[];
        try {
          decoded = decodeFrame(input);
        } catch (err) {
          assert.ok(err instanceof CodecError, `expected CodecError, got ${String(err)}`);
          return;
        }
        assert.deepStrictEqual(encodeFrame(decoded), input);
      }),
      { numRuns: 5000 },
    );
  });

  it('refuses records of another version and malformed members', () => {
    const record = encodeHardState({ term: 1, vote: 'a', commit: 0 });
    throwsCodecError(() => decodeHardState(Uint8Array.of(9, ...record.subarray(1))));
    throwsCodecError(() => decodeEntry(new Uint8Array(0)));
    const dup = encodeMembers(new Map([['a', 'x']]));
    // Rewrite the count to 2 and repeat the pair: a duplicated id must not silently overwrite.
    throwsCodecError(() => decodeMembers(Uint8Array.of(dup[0]!, 2, ...dup.subarray(2), ...dup.subarray(2))));
  });
});
