// Alerts before credits run out, as the core computes them (`client.alerts()`: the same ones
// the server sends to the host app's webhooks): a banner under the header on every screen,
// each alert shown once per cycle (or per pack) until the person dismisses it.

import type { Alert } from 'ai-credits';
import type { App } from '../app';
import { h, mount } from '../dom';

function dismissedKey(app: App): string {
  return `ai-credits-www:dismissed-alerts:${app.session.account_id}:${app.session.member}`;
}

function dismissed(app: App): Set<string> {
  try {
    return new Set(JSON.parse(localStorage.getItem(dismissedKey(app)) ?? '[]') as string[]);
  } catch {
    return new Set();
  }
}

function dismiss(app: App, id: string): void {
  // The newest hundred are enough: ids name their cycle or pack, so old ones never come back.
  const ids = [...dismissed(app), id].slice(-100);
  try {
    localStorage.setItem(dismissedKey(app), JSON.stringify(ids));
  } catch {
    // Without storage the banner comes back on the next load; nothing else is lost.
  }
}

/** What the alert asks of the reader, and where to go. */
function action(app: App, alert: Alert): HTMLElement | null {
  if (alert.kind === 'pack_expiring') return h('a', { href: '#/settings/billing' }, 'See your packs');
  if (alert.kind === 'monthly_used' && alert.threshold < 100) return h('a', { href: '#/settings/ai' }, 'See usage');
  return app.isAdmin ? h('a', { href: '#/settings/billing' }, 'Buy a credit pack') : null;
}

export function alertsBanner(app: App): HTMLElement {
  const slot = h('div', { class: 'alerts', 'data-testid': 'alerts' });
  const draw = (): void => {
    let alerts: Alert[];
    try {
      alerts = app.client.alerts();
    } catch {
      alerts = [];
    }
    const gone = dismissed(app);
    // The highest monthly threshold reached says it all: 100% supersedes 80%.
    const monthly = alerts.filter((a) => a.kind === 'monthly_used');
    const top = monthly.at(-1);
    const shown = alerts
      .filter((a) => a.kind !== 'monthly_used' || a === top)
      .filter((a) => !gone.has(a.id));
    mount(slot, shown.map((a) => h('div', {
      class: `banner ${a.kind === 'monthly_used' && a.threshold < 100 ? '' : 'error'} alert`,
      role: 'status', 'data-alert': a.id,
    },
    h('p', null, a.message, ' ', action(app, a)),
    h('button', {
      type: 'button', class: 'quiet', 'aria-label': 'Dismiss this alert',
      onclick: () => {
        // Dismissing the top monthly alert dismisses the lower thresholds of the cycle too.
        for (const m of a.kind === 'monthly_used' ? monthly : [a]) dismiss(app, m.id);
        draw();
      },
    }, 'Dismiss'))));
  };
  draw();
  app.onAnyChange(draw);
  return slot;
}
