import { clearToken, signedInUser } from './auth-token.js';
import type { Backend } from './backend.js';
import { h, render } from './dom.js';
import type { Page, PageContext } from './page.js';
import { overviewPage } from './pages/overview-page.js';
import { servicePage } from './pages/service-page.js';
import { servicesPage } from './pages/services-page.js';
import { trafficPage } from './pages/traffic-page.js';
import { href, parseRoute, type Route } from './router.js';

/**
 * The shell around the pages: the header (where the UI runs, navigation, who is signed in) and the
 * page for the current hash route. Changing route disposes the old page (its timers and sockets)
 * and moves keyboard focus to the new page's heading.
 */

export function startApp(backend: Backend): void {
  const main = document.getElementById('main');
  if (!main) throw new Error('index.html has no <main id="main">');
  const where = document.getElementById('where');
  if (where) where.textContent = backend.title;
  drawUser();
  document.addEventListener('cairn:signed-in', drawUser);

  let page: Page | null = null;
  const show = (initial: boolean): void => {
    page?.dispose();
    const route = parseRoute(location.hash);
    markNavigation(route);
    const root = h('div', { class: `page page-${route.page}` });
    main.replaceChildren(root);
    page = create(route, { backend, root });
    document.title = `${titleOf(route)} · cairn ${backend.mode === 'federation' ? 'federation' : backend.title}`;
    if (!initial) root.querySelector<HTMLElement>('h1')?.focus();
  };
  window.addEventListener('hashchange', () => show(false));
  show(true);
}

function create(route: Route, ctx: PageContext): Page {
  switch (route.page) {
    case 'overview':
      return overviewPage(ctx);
    case 'services':
      return servicesPage(ctx);
    case 'service':
      return servicePage(ctx, route.ref);
    case 'traffic':
      return trafficPage(ctx);
    case 'not-found':
      render(
        ctx.root,
        h('h1', { tabindex: -1 }, 'Page not found'),
        h(
          'p',
          null,
          'There is no page at this address. ',
          h('a', { href: href({ page: 'overview' }) }, 'Go to the overview.'),
        ),
      );
      return { dispose: () => {} };
  }
}

function titleOf(route: Route): string {
  switch (route.page) {
    case 'overview':
      return 'Overview';
    case 'services':
      return 'Services';
    case 'service':
      return route.ref.service;
    case 'traffic':
      return 'Zone traffic';
    case 'not-found':
      return 'Not found';
  }
}

function markNavigation(route: Route): void {
  const section = route.page === 'service' ? 'services' : route.page;
  for (const a of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    if (a.dataset['nav'] === section) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

function drawUser(): void {
  const box = document.getElementById('user');
  if (!box) return;
  const user = signedInUser();
  if (user === null) {
    box.replaceChildren();
    return;
  }
  render(
    box,
    h('span', { class: 'muted' }, user),
    h(
      'button',
      {
        type: 'button',
        class: 'btn btn-small',
        onclick: () => {
          clearToken();
          location.reload();
        },
      },
      'Sign out',
    ),
  );
}
