// "Usage This Month": monthly credits with a progress bar, purchased credits remaining and the
// cycle's usage totals. Shown beside the assistant; the same numbers open Settings › AI Assistant.

import type { Balance, ScenarioResult, Totals } from 'ai-credits';
import type { App } from '../app';
import { h, mount, progressBar } from '../dom';
import * as fmt from '../format';

/**
 * This cycle's AI messages billed to credits and to own keys, summed over the cycle's
 * breakdown by model (the whole cycle, from the checkpoint and every event since; the client
 * holds only recent entries). Debits without a model are not messages and are not counted.
 */
export function cycleTotals(report: ScenarioResult): { credits: Totals; ownKey: Totals } {
  const sum = (byModel: { [model: string]: Totals }): Totals => Object.values(byModel).reduce((t, m) => ({
    entries: t.entries + m.entries, credits: t.credits + m.credits, unpaid: t.unpaid + m.unpaid,
    tokens: t.tokens + m.tokens, cost_usd_micros: t.cost_usd_micros + m.cost_usd_micros,
  }), { entries: 0, credits: 0, unpaid: 0, tokens: 0, cost_usd_micros: 0 });
  return { credits: sum(report.breakdown.credits.by_model), ownKey: sum(report.breakdown.own_key.by_model) };
}

/** The monthly bar with its caption. */
export function monthlyBlock(balance: Balance): HTMLElement {
  const { used, allowance, remaining } = balance.monthly;
  const tone = remaining === 0 ? 'empty' : fmt.percent(used, allowance) >= 85 ? 'low' : '';
  return h(
    'div',
    { class: 'metric' },
    h('div', { class: 'metric-head' },
      h('span', { class: 'metric-name' }, 'Monthly Credits'),
      h('span', { class: 'metric-value', 'data-testid': 'monthly-used', 'data-value': used },
        `${fmt.compactCredits(used)} of ${fmt.credits(allowance)} used`)),
    progressBar('Monthly credits used', used, allowance,
      `${fmt.exact(used)} of ${fmt.exact(allowance)} credits used`, tone),
    h('p', { class: 'metric-note' },
      `${fmt.credits(remaining)} left · refills ${fmt.date(balance.cycle.end)}`),
  );
}

export function purchasedBlock(balance: Balance, report: ScenarioResult): HTMLElement {
  const live = report.packs.filter((p) => p.remaining > 0 && p.expires_at > balance.at);
  return h(
    'div',
    { class: 'metric' },
    h('div', { class: 'metric-head' },
      h('span', { class: 'metric-name' }, 'Purchased Credits'),
      h('span', { class: 'metric-value', 'data-testid': 'purchased-remaining', 'data-value': balance.purchased_remaining },
        `${fmt.credits(balance.purchased_remaining)} remaining`)),
    h('p', { class: 'metric-note' },
      live.length === 0 ? 'No credit packs with credits left.'
        : `${live.length} ${live.length === 1 ? 'pack' : 'packs'}, oldest used first`),
  );
}

export function usagePanel(app: App): HTMLElement {
  const panel = h('aside', { class: 'card usage-panel', 'aria-labelledby': 'usage-title' });
  const draw = (): void => {
    const balance = app.balance();
    const report = app.report();
    const { credits, ownKey } = cycleTotals(report);
    mount(panel,
      h('h2', { id: 'usage-title' }, 'Usage This Month'),
      h('p', { class: 'metric-note intro', 'data-testid': 'what-is-a-credit' },
        `Credits are ${app.catalogue.platformName}'s unit of AI use: each message uses credits in proportion to the AI work it takes.`),
      monthlyBlock(balance),
      purchasedBlock(balance, report),
      balance.held > 0 ? h('p', { class: 'metric-note' }, `${fmt.credits(balance.held)} held for messages in progress`) : null,
      h('dl', { class: 'totals' },
        h('dt', null, 'Messages'), h('dd', { 'data-testid': 'usage-messages' }, fmt.exact(credits.entries + ownKey.entries)),
        h('dt', null, 'Credits used by messages'), h('dd', { 'data-testid': 'usage-credits' }, fmt.exact(credits.credits)),
        h('dt', null, '≈ AI cost'), h('dd', null, fmt.usdMicros(credits.cost_usd_micros)),
        ownKey.entries > 0 ? [h('dt', null, 'On your own keys'), h('dd', null, `${fmt.exact(ownKey.entries)} messages`)] : null),
      h('p', { class: 'metric-note' }, h('a', { href: '#/settings/ai' }, 'Usage details'),
        app.isAdmin ? [' · ', h('a', { href: '#/settings/billing' }, 'Buy credits')] : null),
    );
  };
  draw();
  app.onChange(draw);
  return panel;
}
