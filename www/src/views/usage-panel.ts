// "Usage This Month": monthly credits with a progress bar, purchased credits remaining and the
// cycle's usage totals. Shown beside the assistant; the same numbers open Settings › AI Assistant.

import type { Balance, ScenarioResult, Totals } from 'ai-credits';
import type { App } from '../app';
import { h, mount, progressBar } from '../dom';
import * as fmt from '../format';

/** This cycle's entries billed to credits and to own keys, summed. */
export function cycleTotals(report: ScenarioResult): { credits: Totals; ownKey: Totals } {
  const zero = (): Totals => ({ entries: 0, credits: 0, unpaid: 0, tokens: 0, cost_usd_micros: 0 });
  const totals = { credits: zero(), ownKey: zero() };
  const { start, end } = report.cycle;
  for (const e of report.entries) {
    if (e.at < start || e.at >= end) continue;
    const t = e.billed_to === 'own_key' ? totals.ownKey : totals.credits;
    t.entries += 1;
    t.credits += e.credits;
    t.unpaid += e.unpaid;
    t.tokens += (e.input_tokens ?? 0) + (e.cached_input_tokens ?? 0) + (e.cache_write_tokens ?? 0) + (e.output_tokens ?? 0);
    t.cost_usd_micros += e.cost_usd_micros;
  }
  return totals;
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
      h('p', { class: 'metric-note', 'data-testid': 'what-is-a-credit' },
        `Credits are ${app.catalogue.platformName}'s unit of AI use: each message uses credits in proportion to the AI work it takes.`),
      monthlyBlock(balance),
      purchasedBlock(balance, report),
      balance.held > 0 ? h('p', { class: 'metric-note' }, `${fmt.credits(balance.held)} held for messages in progress`) : null,
      credits.credits > balance.monthly.used
        ? h('p', { class: 'metric-note' }, `Credits used: ${fmt.exact(balance.monthly.used)} monthly and ${fmt.exact(credits.credits - balance.monthly.used)} from your packs.`)
        : null,
      h('dl', { class: 'totals' },
        h('dt', null, 'Messages'), h('dd', { 'data-testid': 'usage-messages' }, fmt.exact(credits.entries + ownKey.entries)),
        h('dt', null, 'Credits used'), h('dd', { 'data-testid': 'usage-credits' }, fmt.exact(credits.credits)),
        h('dt', null, '≈ AI cost'), h('dd', null, fmt.usdMicros(credits.cost_usd_micros)),
        ownKey.entries > 0 ? [h('dt', null, 'On your own keys'), h('dd', null, `${fmt.exact(ownKey.entries)} messages`)] : null),
      h('p', { class: 'metric-note' }, h('a', { href: '#/settings/ai' }, 'Usage details'), ' · ',
        h('a', { href: '#/settings/billing' }, 'Buy credits')),
    );
  };
  draw();
  app.onChange(draw);
  return panel;
}
