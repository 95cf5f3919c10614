import { storeToken } from './auth-token.js';
import { field, openDialog } from './dialog.js';
import { h } from './dom.js';
import { ApiError, api, errorText } from './http.js';

/**
 * The sign-in form, opened when the server answers 401. `POST /v1/auth/login {username, password}`
 * answers `{accessToken, tokenType: 'Bearer', expiresInS, username}`; the token is kept for this tab.
 * Calls that fail with 401 while the form is open all wait for the same sign-in.
 */

interface LoginAnswer {
  readonly accessToken: string;
  readonly tokenType: string;
  readonly expiresInS: number;
  readonly username: string;
}

let pending: Promise<boolean> | null = null;

export function requireSignIn(reason: string): Promise<boolean> {
  pending ??= showSignIn(reason).finally(() => {
    pending = null;
  });
  return pending;
}

async function showSignIn(reason: string): Promise<boolean> {
  const username = h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: 128 });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
    maxlength: 1024,
  });
  const ok = await openDialog({
    title: 'Sign in to cairn',
    name: 'login',
    body: [
      h('p', { class: 'muted' }, reason || 'This server asks who you are.'),
      field('User name', username),
      field('Password', password),
    ],
    submitLabel: 'Sign in',
    onSubmit: async () => {
      if (username.value.trim() === '' || password.value === '') return 'Enter your user name and password.';
      try {
        const answer = await api<LoginAnswer>(
          'POST',
          '/v1/auth/login',
          { username: username.value.trim(), password: password.value },
          { noSignIn: true },
        );
        storeToken(answer.accessToken, answer.username);
        return null;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return 'Wrong user name or password.';
        if (err instanceof ApiError && err.status === 404) return 'This server has no sign-in (authentication is off).';
        return errorText(err);
      }
    },
  });
  if (ok) document.dispatchEvent(new CustomEvent('cairn:signed-in'));
  return ok;
}
