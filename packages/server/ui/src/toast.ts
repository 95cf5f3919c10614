import { h } from './dom.js';

/**
 * Short messages about what just happened. Successes are announced politely; errors are alerts and
 * stay longer. Each can be dismissed with its button.
 */

const INFO_MS = 5000;
const ERROR_MS = 12_000;
const SHOWN_MAX = 4;

function container(): HTMLElement {
  let el = document.getElementById('toasts');
  if (!el) {
    el = h('div', { id: 'toasts', class: 'toasts' });
    document.body.append(el);
  }
  return el;
}

export function notify(message: string, kind: 'info' | 'error' = 'info'): void {
  const box = container();
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const toast = h(
    'div',
    { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('span', null, message),
    close,
  );
  const remove = (): void => toast.remove();
  close.addEventListener('click', remove);
  box.append(toast);
  while (box.children.length > SHOWN_MAX) box.firstElementChild?.remove();
  setTimeout(remove, kind === 'error' ? ERROR_MS : INFO_MS);
}
