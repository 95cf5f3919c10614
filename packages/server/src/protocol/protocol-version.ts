/**
 * The push protocol's version and its fixed names. A change that old clients cannot ignore (a field
 * removed or changing meaning, a message they must understand) moves to a new version served on new
 * paths (/v2/...); additions (new optional fields, new message types) stay in version 1, so clients
 * must ignore fields and message types they do not know.
 */
export const PROTOCOL_VERSION = 1;

export const WATCH_PATH = '/v1/watch';
export const SESSION_PATH = '/v1/session';

/** WebSocket close codes the server uses, and what a client should do about each. */
export const CLOSE_CODES = {
  /** The client closed its session or the server answered `close`: done. */
  NORMAL: 1000,
  /** The replica is shutting down: reconnect to another replica (sessions resume, watches resume). */
  GOING_AWAY: 1001,
  /** A frame larger than the announced `frameBytesMax`. */
  MESSAGE_TOO_BIG: 1009,
  /** An internal error on the replica: reconnect, preferably elsewhere. */
  INTERNAL: 1011,
  /** Too many connections on this replica: try another one, or later. */
  TRY_AGAIN_LATER: 1013,
  /** Nothing heard from the client (no frame, no pong) for too long, or no `open` in time. */
  IDLE_TIMEOUT: 4000,
  /** The client read too slowly for too long even after resyncs. */
  SLOW_CONSUMER: 4001,
} as const;
