import {
  type SessionClientMessageInput,
  type SessionServerMessage,
  sessionServerMessageSchema,
  type WatchClientMessageInput,
  type WatchServerMessage,
  watchServerMessageSchema,
} from '@cairn/server';

/**
 * The SDK's edge to cairn's push protocol (version 1): the zod schemas of @cairn/server's protocol
 * module are the contract, and every message from a server is parsed with them here. As the
 * protocol asks, message types the SDK does not know are ignored (null), not errors.
 */

export {
  CLOSE_CODES,
  type InstanceRef,
  PROTOCOL_VERSION,
  SESSION_PATH,
  type SessionClientMessageInput,
  type SessionInstance,
  type SessionServerMessage,
  WATCH_PATH,
  type WatchClientMessageInput,
  type WatchServerMessage,
} from '@cairn/server';

const SESSION_TYPES = new Set<string>(sessionServerMessageSchema.options.map((o) => o.shape.type.value));
const WATCH_TYPES = new Set<string>(watchServerMessageSchema.options.map((o) => o.shape.type.value));

/** A session message, or null for a type the SDK does not know. Throws on a malformed one. */
export function parseSessionMessage(text: string): SessionServerMessage | null {
  const raw: unknown = JSON.parse(text);
  if (!SESSION_TYPES.has(typeOf(raw))) return null;
  return sessionServerMessageSchema.parse(raw);
}

/** A watch message, or null for a type the SDK does not know. Throws on a malformed one. */
export function parseWatchMessage(text: string): WatchServerMessage | null {
  const raw: unknown = JSON.parse(text);
  if (!WATCH_TYPES.has(typeOf(raw))) return null;
  return watchServerMessageSchema.parse(raw);
}

function typeOf(raw: unknown): string {
  return typeof raw === 'object' && raw !== null ? String((raw as { type?: unknown }).type) : '';
}

/** What the SDK sends, typed by the protocol (so a drift in the schemas fails the build). */
export type SessionRequest = SessionClientMessageInput;
export type WatchRequest = WatchClientMessageInput;
