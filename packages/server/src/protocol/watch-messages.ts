import { z } from 'zod';
import { PROTOCOL_LIMITS } from './protocol-limits.js';
import {
  errorMessageSchema,
  helloMessageSchema,
  serviceRefSchema,
  wireChangeSchema,
  wireInstanceSchema,
  wireNamespaceSchema,
  wireServiceSchema,
  zoneWeightSchema,
} from './wire-model.js';

/**
 * `GET /v1/watch` (WebSocket, JSON text frames). See README.md in this folder for the conversation.
 */

/** A client-chosen name for one subscription on a socket; every message about it carries it as `sub`. */
export const subscriptionIdSchema = z
  .string()
  .min(1)
  .max(PROTOCOL_LIMITS.subscriptionIdLengthMax)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

const revision = z.number().int().min(0);

// ---------------------------------------------------------------------------------------------
// Client -> server
// ---------------------------------------------------------------------------------------------

/**
 * Starts a subscription: to everything (`all: true`, what the federation uses) or to a list of
 * services. With `fromRevision` (the last revision the client holds for this subscription, from any
 * replica of the zone) the server resumes from its history when it can; otherwise it sends a snapshot.
 */
export const watchSubscribeSchema = z
  .object({
    type: z.literal('subscribe'),
    sub: subscriptionIdSchema,
    all: z.literal(true).optional(),
    services: z.array(serviceRefSchema).min(1).max(PROTOCOL_LIMITS.servicesPerSubscriptionMax).optional(),
    fromRevision: revision.optional(),
  })
  .refine((m) => (m.all === true) !== (m.services !== undefined), {
    message: 'give either all: true or a list of services, not both',
    path: ['services'],
  });
export type WatchSubscribe = z.output<typeof watchSubscribeSchema>;

export const watchUnsubscribeSchema = z.object({ type: z.literal('unsubscribe'), sub: subscriptionIdSchema });
export type WatchUnsubscribe = z.output<typeof watchUnsubscribeSchema>;

export const watchClientMessageSchema = z.discriminatedUnion('type', [watchSubscribeSchema, watchUnsubscribeSchema]);
export type WatchClientMessage = z.output<typeof watchClientMessageSchema>;
/** What a client builds (defaults not yet applied: namespace and group may be left out). */
export type WatchClientMessageInput = z.input<typeof watchClientMessageSchema>;

// ---------------------------------------------------------------------------------------------
// Server -> client
// ---------------------------------------------------------------------------------------------

/**
 * The answer to `subscribe`. `resumed: true`: the client's view stays; deltas after `revision`
 * (= its fromRevision) follow. `resumed: false`: a snapshot at `revision` follows, replacing the view.
 */
export const watchSubscribedSchema = z.object({
  type: z.literal('subscribed'),
  sub: z.string(),
  resumed: z.boolean(),
  revision,
});

/**
 * The subscription's whole view at `revision`, in parts (0, 1, ...) so no message grows unbounded; the
 * view is complete at the part with `last: true`. Zone weights come in part 0. Namespaces are sent to
 * `all` subscriptions only.
 */
export const watchSnapshotSchema = z.object({
  type: z.literal('snapshot'),
  sub: z.string(),
  revision,
  part: z.number().int().min(0),
  last: z.boolean(),
  namespaces: z.array(wireNamespaceSchema),
  services: z.array(wireServiceSchema),
  instances: z.array(wireInstanceSchema),
  zoneWeights: z.array(zoneWeightSchema),
});

/**
 * Changes in revision order, each tagged with its revision. After applying it the client holds
 * every change through `revision` (a revision too large for one message is split; then `revision` is
 * the one before, and resuming from it replays the split revision whole, which is harmless).
 */
export const watchDeltaSchema = z.object({
  type: z.literal('delta'),
  sub: z.string(),
  revision,
  changes: z.array(wireChangeSchema),
});

/**
 * Every subscription on this socket that is streaming (not in a snapshot) is current through
 * `revision`: resuming from it later misses nothing. Sent periodically, also when nothing changed.
 */
export const watchProgressSchema = z.object({ type: z.literal('progress'), revision });

/** The subscription fell behind (slow reader) or the replica replaced its state: a fresh snapshot follows. */
export const watchResyncSchema = z.object({ type: z.literal('resync'), sub: z.string(), reason: z.string() });

export const watchUnsubscribedSchema = z.object({ type: z.literal('unsubscribed'), sub: z.string() });

export const watchServerMessageSchema = z.discriminatedUnion('type', [
  helloMessageSchema,
  watchSubscribedSchema,
  watchSnapshotSchema,
  watchDeltaSchema,
  watchProgressSchema,
  watchResyncSchema,
  watchUnsubscribedSchema,
  errorMessageSchema,
]);
export type WatchServerMessage = z.infer<typeof watchServerMessageSchema>;
export type WatchSnapshotMessage = z.infer<typeof watchSnapshotSchema>;
export type WatchDeltaMessage = z.infer<typeof watchDeltaSchema>;
