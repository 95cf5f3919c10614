import { type Child, h, uid } from './dom.js';

/**
 * Modal dialogs on the native <dialog> element: the rest of the page is inert while one is open,
 * Tab cycles inside it, Escape closes it, and focus returns to where it was. A dialog is a form:
 * its submit handler may refuse (returning a message shown in the dialog) or accept (it closes).
 */

export interface DialogOptions {
  readonly title: string;
  readonly body: Child;
  readonly submitLabel: string;
  readonly cancelLabel?: string;
  /** A destructive action: the submit button says so. */
  readonly danger?: boolean;
  /** Runs on submit: a message keeps the dialog open and shows it; null closes it. */
  readonly onSubmit?: (form: HTMLFormElement) => Promise<string | null> | string | null;
  /** Called once the dialog is in the document (to wire live previews). */
  readonly onOpen?: (form: HTMLFormElement) => void;
  /** A test id for the dialog. */
  readonly name?: string;
}

const FOCUSABLE =
  'a[href], button:not([disabled]), input:not([disabled]), select:not([disabled]), textarea, [tabindex]';

/** Opens a dialog; resolves true when submitted and accepted, false when cancelled. */
export function openDialog(options: DialogOptions): Promise<boolean> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  const titleId = uid('dialog-title');
  const error = h('p', { class: 'dialog-error', role: 'alert', hidden: true });
  const submit = h(
    'button',
    { type: 'submit', class: options.danger ? 'btn btn-danger' : 'btn btn-primary' },
    options.submitLabel,
  );
  const cancel = h('button', { type: 'button', class: 'btn' }, options.cancelLabel ?? 'Cancel');
  const form = h(
    'form',
    { method: 'dialog', novalidate: true },
    h('h2', { id: titleId }, options.title),
    h('div', { class: 'dialog-body' }, options.body),
    error,
    h('div', { class: 'dialog-actions' }, cancel, submit),
  );
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId, 'data-dialog': options.name }, form);
  document.body.append(dialog);

  return new Promise<boolean>((resolve) => {
    let accepted = false;
    const close = (): void => dialog.close();
    cancel.addEventListener('click', close);
    dialog.addEventListener('close', () => {
      dialog.remove();
      restoreFocus(opener);
      resolve(accepted);
    });
    dialog.addEventListener('keydown', (e) => trapTab(dialog, e));
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      void (async () => {
        submit.disabled = true;
        try {
          const refusal = options.onSubmit ? await options.onSubmit(form) : null;
          if (refusal !== null) {
            error.textContent = refusal;
            error.hidden = false;
            return;
          }
          accepted = true;
          close();
        } finally {
          submit.disabled = false;
        }
      })();
    });
    dialog.showModal();
    options.onOpen?.(form);
    const first = form.querySelector<HTMLElement>('input, select, textarea') ?? submit;
    first.focus();
  });
}

/** Back to the opener, or to its replacement when a live update redrew it meanwhile (same data-focus). */
function restoreFocus(opener: HTMLElement | null): void {
  if (opener === null) return;
  if (opener.isConnected) {
    opener.focus();
    return;
  }
  const key = opener.dataset['focus'];
  if (key !== undefined) document.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

/** Keeps Tab and Shift+Tab inside the dialog. */
function trapTab(dialog: HTMLDialogElement, e: KeyboardEvent): void {
  if (e.key !== 'Tab') return;
  const items = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)].filter((el) => !el.hidden && el.tabIndex >= 0);
  const first = items[0];
  const last = items[items.length - 1];
  if (!first || !last) return;
  if (e.shiftKey && document.activeElement === first) {
    e.preventDefault();
    last.focus();
  } else if (!e.shiftKey && document.activeElement === last) {
    e.preventDefault();
    first.focus();
  }
}

/** Asks a yes/no question. */
export function confirmDialog(title: string, message: Child, confirmLabel: string, danger = false): Promise<boolean> {
  return openDialog({ title, body: message, submitLabel: confirmLabel, danger, name: 'confirm' });
}

/** A labelled form field for dialogs. */
export function field(label: string, input: HTMLInputElement | HTMLSelectElement, hint?: string): HTMLElement {
  const id = input.id || uid('field');
  input.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) input.setAttribute('aria-describedby', hintId);
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
  );
}

/** Reads a number field of a form, checking its bounds; returns a message when it is not valid. */
export function readNumber(
  form: HTMLFormElement,
  name: string,
  min: number,
  max: number,
  integer: boolean,
): number | string {
  const raw = (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';
  const n = Number(raw);
  if (raw === '' || !Number.isFinite(n)) return 'Enter a number.';
  if (integer && !Number.isInteger(n)) return 'Enter a whole number.';
  if (n < min || n > max) return `Enter a number from ${min} to ${max}.`;
  return n;
}
