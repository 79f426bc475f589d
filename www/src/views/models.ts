// "Choosing the Right AI Model": the guide both help pages link to, built from the catalogue.
// For each model: its provider, credit tier, what it is best for, and what the seeds' two
// examples cost on it now (a short question, and a task of several steps), as the core
// estimates them on this account.

import type { Model } from 'ai-credits';
import type { App } from '../app';
import { h } from '../dom';
import * as fmt from '../format';

/** The seeds' examples: a lookup, and a request that makes the assistant do more work. */
const QUESTION = 'How many bookings today?';
const TASK = 'Create a booking for three products over five days';

const TIERS: Record<string, string> = { lowest: 'Lowest', lower: 'Lower', higher: 'Higher' };

function cost(app: App, m: Model, text: string, feature: string, ownKey: boolean): string {
  try {
    const e = app.client.estimateMessage({ model: m.id, text, feature, member: app.session.member });
    const range = fmt.creditRange(e.would_be_credits.low, e.would_be_credits.high);
    const ai = fmt.approxUsdMicros(e.cost_usd_micros.expected);
    if (ownKey) return `0 credits: billed to your ${app.providerName(m.provider)} key (${ai} AI cost)`;
    if (!m.on_credits) return `0 credits, with your own ${app.providerName(m.provider)} key (${ai} AI cost, billed by ${app.providerName(m.provider)})`;
    return `≈ ${range}`;
  } catch {
    return '—';
  }
}

export function modelGuideView(app: App): HTMLElement {
  const keys = app.client.keys();
  const rows = app.models.map((m) => {
    const ownKey = keys[m.provider] === 'connected';
    return h('tr', null,
      h('th', { scope: 'row' }, m.name, m.id === app.catalogue.defaultModel ? h('span', { class: 'tag' }, 'Recommended') : null),
      h('td', null, app.providerName(m.provider)),
      h('td', null, m.on_credits ? TIERS[m.tier ?? ''] ?? '—' : 'Bring your own key'),
      h('td', null, m.best_for),
      h('td', { 'data-testid': `question-${m.id}` }, cost(app, m, QUESTION, 'assistant', ownKey)),
      h('td', { 'data-testid': `task-${m.id}` }, cost(app, m, TASK, 'assistant', ownKey)));
  });
  return h('div', { class: 'settings guide' },
    h('h1', null, 'Choosing the Right AI Model'),
    h('section', { class: 'card', 'aria-labelledby': 'guide-heading' },
      h('h2', { id: 'guide-heading' }, 'Models side by side'),
      h('p', null, `A credit is ${app.catalogue.platformName}'s unit of AI use: each message uses credits in proportion to the AI work it takes. `,
        'Lower-tier models use fewer credits for the same message; a task of several steps uses more than a short question on any model.'),
      h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Models side by side table' },
        h('table', { class: 'model-guide', 'data-testid': 'model-guide' },
          h('caption', null, `What “${QUESTION}” and “${TASK}” cost on each model, estimated on your account now`),
          h('thead', null, h('tr', null, ['Model', 'Provider', 'Credit usage', 'Best for', 'A short question', 'A task of several steps']
            .map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, rows)))),
    h('section', { class: 'card', 'aria-labelledby': 'choose-heading' },
      h('h2', { id: 'choose-heading' }, 'Which to choose'),
      h('ul', null,
        h('li', null, 'For most day-to-day work, the recommended model or a lower-tier one is a good choice.'),
        h('li', null, 'Use a lower or lowest tier model for simple lookups, and save a higher tier for complex analysis and tasks of several steps.'),
        h('li', null, 'Models marked “Bring your own key” appear in the picker once your own key for their provider is connected; their messages use no credits.')),
      h('p', null, app.isAdmin
        ? h('a', { href: '#/settings/ai/configuration' }, 'Choose the model in Settings › AI Assistant')
        : 'Your admin chooses the model the assistant uses.')));
}
