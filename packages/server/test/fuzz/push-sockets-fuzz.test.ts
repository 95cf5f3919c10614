// Property: the watch and session WebSockets, sent sequences of hostile frames (garbage text and
// binary, invalid JSON, unknown types, hostile fields, oversize frames, floods of subscribe and
// register), answer every frame in the protocol (messages that parse, errors with stable codes),
// stay open unless a frame was over the size bound (then close 1009), never crash the process,
// and leave no instance behind for a registration they refused.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_PUSH_LIMITS } from '../../src/api/watch/push-limits.js';
import { sessionServerMessageSchema, watchServerMessageSchema } from '../../src/protocol/index.js';
import { instanceIdOf } from '../../src/registry/model.js';
import {
  hostileMetadata,
  hostileNumber,
  JObj,
  type JValue,
  jsonText,
  mutatedBody,
  rarely,
} from './fuzz-arbitraries.js';
import { assertAlive, CrashGuard, type FuzzServer, fuzzParams, startFuzzServer, testTimeoutMs } from './fuzz-kit.js';
import { assertProtocol, checkWatchSequence, type Frame, FuzzSocket, garbage, watchSequence } from './socket-kit.js';

/** The reqId and instance id of a register frame that is valid JSON, else null. */
function registerOf(text: string): { reqId: number; id: string | null } | null {
  try {
    const parsed = JSON.parse(text) as { type?: unknown; reqId?: unknown; instance?: Record<string, unknown> };
    if (parsed.type !== 'register' || typeof parsed.reqId !== 'number') return null;
    const i = parsed.instance ?? {};
    const id =
      typeof i.ip === 'string' && typeof i.port === 'number' && typeof i.service === 'string'
        ? `${i.ip}#${i.port}#${i.cluster ?? 'DEFAULT'}#${i.group ?? 'DEFAULT_GROUP'}@@${i.service}`
        : null;
    return { reqId: parsed.reqId, id };
  } catch {
    return null;
  }
}

const INSTANCE = {
  namespace: 'public',
  group: 'DEFAULT_GROUP',
  service: 'sz-svc',
  cluster: 'DEFAULT',
  ip: '10.4.0.1',
  port: 6001,
  weight: 100,
  metadata: {},
};

const registerFrame = (reqId: number): fc.Arbitrary<Frame> =>
  fc
    .tuple(mutatedBody(INSTANCE), fc.integer({ min: 6001, max: 6040 }), hostileMetadata, fc.nat(3))
    .map(([inst, port, metadata, pick]) => {
      // Mostly a valid instance at a fresh port, sometimes with hostile metadata, sometimes mutated.
      const valid = new JObj(Object.entries({ ...INSTANCE, port }).map(([k, v]) => [k, v as JValue] as const));
      const withMeta = new JObj([...valid.entries.filter(([k]) => k !== 'metadata'), ['metadata', metadata]]);
      const instance = pick === 0 ? valid : pick === 1 ? withMeta : inst;
      return {
        kind: 'text',
        text: jsonText(
          new JObj([
            ['type', 'register'],
            ['reqId', reqId],
            ['instance', instance],
          ]),
        ),
      } as const;
    });

const sessionFrame = (reqId: number): fc.Arbitrary<Frame> =>
  fc.oneof(
    { weight: 5, arbitrary: registerFrame(reqId) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 6001, max: 6040 }).map(
        (port) =>
          ({
            kind: 'text',
            text: JSON.stringify({ type: 'deregister', reqId, instance: { ...INSTANCE, port } }),
          }) as const,
      ),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'text', text: '{"type":"keepalive"}' } as const) },
    {
      weight: 1,
      arbitrary: fc.oneof(hostileNumber, fc.constant<JValue>(3000)).map(
        (ttl) =>
          ({
            kind: 'text',
            text: jsonText(
              new JObj([
                ['type', 'open'],
                ['ttlMs', ttl],
              ]),
            ),
          }) as const,
      ),
    },
    { weight: 2, arbitrary: garbage },
  );

const sessionSequence = fc.record({
  frames: fc
    .array(fc.nat(1_000_000), { minLength: 1, maxLength: 10 })
    .chain((ids) => fc.tuple(...ids.map((id, i) => sessionFrame(i * 1_000_000 + id)))),
  flood: rarely(fc.integer({ min: 60, max: 120 }), 5),
  oversize: rarely(
    fc.integer({ min: DEFAULT_PUSH_LIMITS.frameBytesMax + 1, max: DEFAULT_PUSH_LIMITS.frameBytesMax * 2 }),
    10,
  ),
});

describe('push sockets fuzz (real sockets)', () => {
  let s: FuzzServer;
  let guard: CrashGuard;
  let wsUrl: string;

  before(async () => {
    guard = new CrashGuard();
    s = await startFuzzServer(['--write-rate-max', '0']);
    wsUrl = `ws://127.0.0.1:${s.port}`;
    await s.server.registry.execute({ op: 'namespace.put', namespace: { id: 'sz', name: 'sz', description: '' } });
  });

  after(async () => {
    await s?.stop();
    guard?.dispose();
  });

  const WATCH_RUNS = 40;
  it(
    'watch: every frame is answered in the protocol; the socket stays up unless a frame was too large',
    { timeout: testTimeoutMs(WATCH_RUNS, 500) },
    async () => {
      await fc.assert(
        fc.asyncProperty(watchSequence, async (seq) => {
          await checkWatchSequence(`${wsUrl}/v1/watch`, watchServerMessageSchema, seq);
          guard.check();
        }),
        fuzzParams(WATCH_RUNS),
      );
      await assertAlive(s.port, s.server);
      guard.check();
    },
  );

  const SESSION_RUNS = 40;
  it(
    'session: frames are answered in the protocol; a refused registration leaves nothing behind',
    { timeout: testTimeoutMs(SESSION_RUNS, 500) },
    async () => {
      await fc.assert(
        fc.asyncProperty(sessionSequence, async ({ frames, flood, oversize }) => {
          const sock = await FuzzSocket.open(`${wsUrl}/v1/session`, sessionServerMessageSchema);
          let sessionId: string | null = null;
          try {
            await sock.until((ms) => ms.some((m) => m.type === 'hello'), 5000, 'hello');
            sock.send({ kind: 'text', text: JSON.stringify({ type: 'open', ttlMs: 60_000 }) });
            await sock.until((ms) => ms.some((m) => m.type === 'opened'), 5000, 'opened');
            sessionId = String(sock.messages.find((m) => m.type === 'opened')?.sessionId);
            /** reqId -> the id of the instance it registers (null when the frame does not say). */
            const sent = new Map<number, string | null>();
            for (const f of frames) {
              const reg = f.kind === 'text' && f.text.includes('"register"') ? registerOf(f.text) : null;
              if (reg !== null) sent.set(reg.reqId, reg.id);
              sock.send(f);
            }
            for (let i = 0; i < (flood ?? 0); i++) {
              const reqId = 9_000_000_000 + i;
              sent.set(reqId, `${INSTANCE.ip}#${6001 + (i % 40)}#DEFAULT#DEFAULT_GROUP@@${INSTANCE.service}`);
              sock.send({
                kind: 'text',
                text: JSON.stringify({ type: 'register', reqId, instance: { ...INSTANCE, port: 6001 + (i % 40) } }),
              });
            }
            if (oversize !== null) sock.send({ kind: 'oversize', bytes: oversize });
            sock.send({
              kind: 'text',
              text: JSON.stringify({ type: 'deregister', reqId: 424_242, instance: { ...INSTANCE, port: 1 } }),
            });
            const what = `session frames ${JSON.stringify(frames).slice(0, 600)} flood=${flood} oversize=${oversize}`;
            if (oversize !== null) {
              const closed = await Promise.race([
                sock.closed,
                new Promise<null>((r) => setTimeout(() => r(null), 5000)),
              ]);
              assert.ok(closed, `${what}: an oversize frame did not close the socket`);
            } else {
              await sock.until((ms) => ms.some((m) => m.reqId === 424_242), 10_000, 'the sentinel answer');
              // Registrations answer asynchronously: wait until every register sent has its answer.
              const answered = (id: number) =>
                sock.messages.some((m) => m.reqId === id && (m.type === 'registered' || m.type === 'error'));
              await sock.until(() => [...sent.keys()].every(answered), 10_000, 'answers to every register');
              assert.equal(
                sock.closedWith,
                null,
                `${what}: the server closed the socket: ${JSON.stringify(sock.closedWith)}`,
              );
              if ((flood ?? 0) > DEFAULT_PUSH_LIMITS.sessionInflightMax) {
                assert.ok(
                  sock.messages.some((m) => m.type === 'error' && m.code === 'RATE_LIMITED'),
                  `${what}: the flood was not bounded`,
                );
              }
            }
            assertProtocol(sock.messages, what);
            // Every instance held under this session was answered `registered` on it, or was still
            // in flight when an oversize frame closed the socket (committed, its answer lost).
            const registeredIds = new Set(
              sock.messages.filter((m) => m.type === 'registered').map((m) => (m.instance as { id: string }).id),
            );
            for (const [reqId, id] of sent) {
              if (id !== null && !sock.messages.some((m) => m.reqId === reqId)) registeredIds.add(id);
            }
            for (const inst of s.server.registry.state.allInstances()) {
              if (inst.lease?.kind !== 'session' || inst.lease.sessionId !== sessionId) continue;
              assert.ok(
                registeredIds.has(instanceIdOf(inst)),
                `${what}: ${inst.id} is held but its registration was refused`,
              );
            }
          } finally {
            sock.close();
            // Leave nothing for the next run: the session and its instances go in one commit.
            if (sessionId) await s.server.registry.execute({ op: 'session.close', sessionIds: [sessionId] });
          }
          guard.check();
        }),
        fuzzParams(SESSION_RUNS),
      );
      await assertAlive(s.port, s.server);
      guard.check();
    },
  );
});
