import { z } from 'zod';
import { LIMITS, metadataSchema } from '../registry/model.js';
import { DEFAULT_INSTANCE_WEIGHT, PROTOCOL_LIMITS } from './protocol-limits.js';
import { errorMessageSchema, helloMessageSchema, instanceRefSchema, wireInstanceSchema } from './wire-model.js';

/**
 * `GET /v1/session` (WebSocket, JSON text frames): an SDK process's lease. See README.md in this folder.
 */

/** Session ids are issued by the server (random UUIDs); clients only hand them back to resume. */
export const sessionIdSchema = z
  .string()
  .min(8)
  .max(128)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only');

/** A request id the client picks; the answer to the request carries it back. */
export const requestIdSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

const revision = z.number().int().min(0);

// ---------------------------------------------------------------------------------------------
// Client -> server
// ---------------------------------------------------------------------------------------------

/**
 * Opens the lease, or resumes it with `sessionId` (after reconnecting, to any replica of the zone).
 * Resuming a session the registry has already expired is answered `expired`.
 */
export const sessionOpenSchema = z.object({
  type: z.literal('open'),
  ttlMs: z
    .number()
    .int()
    .min(PROTOCOL_LIMITS.sessionTtlMsMin)
    .max(PROTOCOL_LIMITS.sessionTtlMsMax)
    .default(PROTOCOL_LIMITS.sessionTtlMsDefault),
  sessionId: sessionIdSchema.optional(),
});

/** Renews the lease (so does every other frame). Send one every `keepaliveMs`. */
export const sessionKeepaliveSchema = z.object({ type: z.literal('keepalive') });

/** An ephemeral instance kept alive by this session; its zone is the registry's. Idempotent. */
export const sessionInstanceSchema = instanceRefSchema.extend({
  weight: z.number().min(0).max(LIMITS.weightMax).default(DEFAULT_INSTANCE_WEIGHT),
  enabled: z.boolean().default(true),
  metadata: metadataSchema.default({}),
});
export type SessionInstance = z.output<typeof sessionInstanceSchema>;

export const sessionRegisterSchema = z.object({
  type: z.literal('register'),
  reqId: requestIdSchema,
  instance: sessionInstanceSchema,
});

/** Removes one of this session's instances. */
export const sessionDeregisterSchema = z.object({
  type: z.literal('deregister'),
  reqId: requestIdSchema,
  instance: instanceRefSchema,
});

/** Ends the session: all its instances are removed at once (one revision), then the socket closes. */
export const sessionCloseSchema = z.object({ type: z.literal('close') });

export const sessionClientMessageSchema = z.discriminatedUnion('type', [
  sessionOpenSchema,
  sessionKeepaliveSchema,
  sessionRegisterSchema,
  sessionDeregisterSchema,
  sessionCloseSchema,
]);
export type SessionClientMessage = z.output<typeof sessionClientMessageSchema>;
/** What a client builds (defaults not yet applied). */
export type SessionClientMessageInput = z.input<typeof sessionClientMessageSchema>;

// ---------------------------------------------------------------------------------------------
// Server -> client
// ---------------------------------------------------------------------------------------------

/** The lease is held. `resumed` says it existed already (the client's instances are still registered). */
export const sessionOpenedSchema = z.object({
  type: z.literal('opened'),
  sessionId: sessionIdSchema,
  ttlMs: z.number().int(),
  keepaliveMs: z.number().int(),
  resumed: z.boolean(),
  revision,
});

/**
 * The session is gone (its lease ran out, or it was closed): its instances were removed. The socket
 * stays open; the client opens a new session on it and registers again.
 */
export const sessionExpiredSchema = z.object({
  type: z.literal('expired'),
  sessionId: z.string(),
  message: z.string(),
});

/**
 * The answer to `keepalive`: the replica's revision and whether it knows a leader (a replica that has
 * not known one for a while cannot pass renewals on: move to another replica well within the TTL).
 */
export const sessionAliveSchema = z.object({ type: z.literal('alive'), revision, leader: z.boolean() });

export const sessionRegisteredSchema = z.object({
  type: z.literal('registered'),
  reqId: requestIdSchema,
  revision,
  instance: wireInstanceSchema,
});

export const sessionDeregisteredSchema = z.object({
  type: z.literal('deregistered'),
  reqId: requestIdSchema,
  revision,
});

/** The session is closed and its instances removed at `revision`; the server closes the socket next. */
export const sessionClosedSchema = z.object({ type: z.literal('closed'), revision });

export const sessionServerMessageSchema = z.discriminatedUnion('type', [
  helloMessageSchema,
  sessionOpenedSchema,
  sessionExpiredSchema,
  sessionAliveSchema,
  sessionRegisteredSchema,
  sessionDeregisteredSchema,
  sessionClosedSchema,
  errorMessageSchema,
]);
export type SessionServerMessage = z.infer<typeof sessionServerMessageSchema>;

/** How often the server asks a session with this TTL to send keepalives: a third of it, at most 1 s. */
export function keepaliveMsFor(ttlMs: number): number {
  return Math.min(PROTOCOL_LIMITS.keepaliveMsMax, Math.floor(ttlMs / 3));
}
