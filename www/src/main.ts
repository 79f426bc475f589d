// The web app: signs in, connects the package's sync client, and shows one screen at a time
// (the assistant, Settings › AI Assistant, Settings › Billing & Plan) under a header whose
// badge says whether the numbers are live or how old they are.

import init from 'ai-credits';
import './styles.css';
import { App } from './app';
import { errorCode, errorMessage, signIn, signOut } from './api';
import { h, mount } from './dom';
import * as fmt from './format';
import { alertsBanner } from './views/alerts';
import { assistantView } from './views/assistant';
import { billingView } from './views/billing';
import { modelGuideView } from './views/models';
import { settingsAiView } from './views/settings-ai';

const ROUTES: Array<{ hash: string; label: string }> = [
  { hash: '#/assistant', label: 'AI Assistant' },
  { hash: '#/settings/ai', label: 'Settings › AI Assistant' },
  { hash: '#/settings/billing', label: 'Billing & Plan' },
];

function statusBadge(app: App): HTMLElement {
  const badge = h('span', { class: 'status', role: 'status', 'data-testid': 'sync-status' });
  const draw = (): void => {
    const status = app.status;
    const online = app.online && status.online;
    badge.className = `status ${online ? 'live' : 'stale'}`;
    badge.textContent = online
      ? '● Live'
      : `● Offline · last synced ${fmt.ago(status.stale_ms)}`;
    badge.title = online ? `Synced ${fmt.dateTime(status.fetched_at)}` : 'The server cannot be reached: estimates and previews use the last synced state.';
  };
  draw();
  setInterval(draw, 1_000);
  app.onAnyChange(draw);
  return badge;
}

function layout(app: App): { main: HTMLElement; nav: HTMLElement } {
  const nav = h('nav', { class: 'main-nav', 'aria-label': 'Main' });
  const main = h('main', { id: 'main', tabindex: -1 });
  const root = document.getElementById('app')!;
  mount(root,
    h('header', { class: 'top' },
      h('span', { class: 'brand' }, app.catalogue.platformName),
      nav,
      h('span', { class: 'who' }, `${fmt.label(app.session.member)} · ${app.session.role}`),
      statusBadge(app)),
    alertsBanner(app),
    // In the flow above the page, so a toast never covers what it is about.
    h('div', { id: 'toast', class: 'toasts', role: 'status', 'aria-live': 'polite' }),
    main);
  root.removeAttribute('aria-busy');
  return { main, nav };
}

function route(app: App, main: HTMLElement, nav: HTMLElement): void {
  const hash = location.hash || '#/assistant';
  app.leaveScreen();
  mount(nav, ROUTES.map((r) => h('a', {
    href: r.hash, 'aria-current': hash === r.hash || (r.hash !== '#/assistant' && hash.startsWith(r.hash)) ? 'page' : null,
  }, r.label)));
  let view: HTMLElement;
  if (hash.startsWith('#/settings/ai')) {
    view = settingsAiView(app, hash === '#/settings/ai/configuration' ? 'configuration' : 'usage');
  } else if (hash === '#/settings/billing') {
    view = billingView(app);
  } else if (hash === '#/models') {
    view = modelGuideView(app);
  } else {
    view = assistantView(app);
  }
  mount(main, view);
  const title = hash === '#/models' ? 'Choosing the Right AI Model' : ROUTES.find((r) => hash.startsWith(r.hash))?.label ?? 'AI Assistant';
  document.title = `${title} · ${app.catalogue.platformName}`;
}

async function boot(): Promise<void> {
  const root = document.getElementById('app')!;
  try {
    await init();
    let session = await signIn();
    let app: App;
    try {
      app = await App.start(session);
    } catch (e) {
      // A kept session the server no longer knows (its database started over): sign in anew.
      if (!['unauthorized', 'not_found'].includes(errorCode(e))) throw e;
      signOut();
      session = await signIn();
      app = await App.start(session);
    }
    const { main, nav } = layout(app);
    route(app, main, nav);
    window.addEventListener('hashchange', () => {
      route(app, main, nav);
      main.focus();
    });
  } catch (e) {
    mount(root, h('div', { class: 'card boot-error', role: 'alert' },
      h('h1', null, 'The AI assistant could not start'),
      h('p', null, errorMessage(e)),
      h('button', { type: 'button', class: 'primary', onclick: () => location.reload() }, 'Try again')));
    root.removeAttribute('aria-busy');
  }
}

void boot();

// The offline shell (public/sw.js): with the server down, a reload still opens the app, which
// then reads the account's stored copy. Only the built app registers it.
if (import.meta.env.PROD && 'serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js').catch((e: unknown) => {
    console.warn('ai-credits: the offline shell could not be installed', e);
  });
}
