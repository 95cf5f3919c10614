/**
 * The access token of this browser tab. Kept in sessionStorage: it survives a reload but not the
 * tab, and is never written where other tabs or sites can read it.
 */

const TOKEN_KEY = 'cairn.accessToken';
const USER_KEY = 'cairn.username';

/** The watch protocol's name, echoed by the server (browsers refuse a socket whose answer names none). */
export const WATCH_SUBPROTOCOL = 'cairn.v1';
/** Browsers cannot set headers on a WebSocket: the token travels as a second offered subprotocol. */
export const BEARER_SUBPROTOCOL_PREFIX = 'cairn.bearer.';

export function accessToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signedInUser(): string | null {
  return accessToken() === null ? null : sessionStorage.getItem(USER_KEY);
}

export function storeToken(token: string, username: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
  sessionStorage.setItem(USER_KEY, username);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(USER_KEY);
}

/**
 * The subprotocols to offer on the watch socket: `cairn.v1`, then, when signed in,
 * `cairn.bearer.<base64url(token)>` (base64url keeps any token within the characters a
 * subprotocol may hold). The server answers with `cairn.v1` and never echoes the token.
 */
export function watchSubprotocols(): string[] {
  const token = accessToken();
  return token === null ? [WATCH_SUBPROTOCOL] : [WATCH_SUBPROTOCOL, BEARER_SUBPROTOCOL_PREFIX + base64Url(token)];
}

function base64Url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
