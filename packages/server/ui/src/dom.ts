/**
 * A very small way to build DOM trees from code: `h('button', { class: 'btn', onclick: go }, 'Go')`.
 * Text always goes in as text nodes, never as HTML, so data from the registry cannot inject markup.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];

type Handler = (event: Event) => void;
export type Props = Readonly<Record<string, string | number | boolean | null | undefined | Handler>>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props?: Props | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (props) {
    for (const [name, value] of Object.entries(props)) setProp(el, name, value);
  }
  el.append(...flatten(children));
  return el;
}

function setProp(el: HTMLElement, name: string, value: Props[string]): void {
  if (value === null || value === undefined || value === false) return;
  if (typeof value === 'function') {
    el.addEventListener(name.replace(/^on/, ''), value);
  } else if (name === 'value' && (el instanceof HTMLInputElement || el instanceof HTMLSelectElement)) {
    el.value = String(value);
  } else if (name === 'checked' && el instanceof HTMLInputElement) {
    el.checked = value === true;
  } else {
    el.setAttribute(name, value === true ? '' : String(value));
  }
}

export function flatten(children: readonly Child[]): (Node | string)[] {
  const out: (Node | string)[] = [];
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) out.push(...flatten(c));
    else if (typeof c === 'number') out.push(String(c));
    else out.push(c as Node | string);
  }
  return out;
}

/**
 * Replaces the children of `root`, keeping keyboard focus on the element with the same
 * `data-focus` key, so live updates do not throw a keyboard user out of a table.
 */
export function render(root: HTMLElement, ...children: Child[]): void {
  const active = document.activeElement;
  const key = active instanceof HTMLElement && root.contains(active) ? active.dataset['focus'] : undefined;
  root.replaceChildren(...flatten(children));
  if (key !== undefined) root.querySelector<HTMLElement>(`[data-focus="${CSS.escape(key)}"]`)?.focus();
}

/**
 * A table inside a keyboard-reachable region that scrolls sideways when it is too wide. Each cell
 * is labelled with its column's heading, so on phones the stylesheet can show every row as a card.
 */
export function tableRegion(label: string, table: HTMLTableElement): HTMLElement {
  const headings = [...table.querySelectorAll('thead th')].map((th) => th.textContent ?? '');
  for (const row of table.querySelectorAll('tbody tr')) {
    [...row.children].forEach((cell, i) => {
      const heading = headings[i];
      if (cell.tagName === 'TD' && heading) cell.setAttribute('data-label', heading);
    });
  }
  return h('div', { class: 'table-wrap', role: 'region', 'aria-label': label, tabindex: 0 }, table);
}

export function percent(share: number): string {
  if (share <= 0) return '0%';
  if (share >= 1) return '100%';
  const p = share * 100;
  return p < 10 ? `${p.toFixed(1)}%` : `${Math.round(p)}%`;
}

export function clockTime(epochMs: number): string {
  return new Date(epochMs).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function ago(epochMs: number, nowMs: number = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - epochMs) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const hours = Math.floor(m / 60);
  return hours < 48 ? `${hours} h ago` : `${Math.floor(hours / 24)} days ago`;
}

export function durationMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

let idCounter = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix: string): string {
  idCounter++;
  return `${prefix}-${idCounter}`;
}
