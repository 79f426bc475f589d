// Settings › AI Assistant. Usage: the month's credits, purchased credits, usage by feature and
// by team member, and a chart of daily usage this cycle. Configuration: the model picker and
// the "Use Your Own AI Account" card (paste keys, Save Keys tests them together, Remove), with
// the audit log of every key change.

import type { Entry, Model } from 'ai-credits';
import type { App } from '../app';
import { errorMessage, type AuditEntry, type KeyView } from '../api';
import { announce, h, mount, progressBar } from '../dom';
import * as fmt from '../format';
import { dailyChart, dailySeries } from './chart';
import { cycleTotals, monthlyBlock, purchasedBlock } from './usage-panel';

const TIER_LABELS: Record<string, string> = { lowest: 'Lowest', lower: 'Lower', higher: 'Higher' };

function breakdownTable(caption: string, rows: Array<[string, number]>, total: number, id: string): HTMLElement {
  return h('table', { class: 'breakdown', 'data-testid': id },
    h('caption', null, caption),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Credits'), h('th', { scope: 'col' }, 'Share'))),
    h('tbody', null, rows.length === 0
      ? h('tr', null, h('td', { colspan: 3, class: 'muted' }, 'No usage yet this cycle.'))
      : rows.map(([name, credits]) => h('tr', null,
        h('th', { scope: 'row' }, name),
        h('td', { class: 'num' }, fmt.exact(credits)),
        h('td', { class: 'share' }, progressBar(`${name}: share of credits used`, credits, total,
          `${fmt.percent(credits, total)}% of credits used`)),
      ))));
}

/** Rows by credits, largest first, with what no row names (entries without that attribution) as "Other". */
function sorted(map: { [key: string]: number }, total: number): Array<[string, number]> {
  const rows = Object.entries(map)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]): [string, number] => [fmt.label(k), v]);
  const named = rows.reduce((sum, [, v]) => sum + v, 0);
  if (total > named) rows.push(['Other', total - named]);
  return rows;
}

function usageSection(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'usage-heading' });
  let stackBy: 'model' | 'feature' = 'model';
  const draw = (): void => {
    const balance = app.balance();
    const report = app.report();
    const used = balance.monthly.used;
    const totals = cycleTotals(report);
    const total = totals.credits.credits;
    const byFeature = sorted(report.usage_by_feature, total);
    // Admins see everyone's usage; a member sees its own row, the rest as one (SPEC §5.1).
    const members = app.isAdmin
      ? report.usage_by_member
      : Object.fromEntries(Object.entries(report.usage_by_member).filter(([m]) => m === app.session.member));
    const byMember = sorted(members, total);
    const ownKey = totals.ownKey.entries;
    const keyOf = stackBy === 'model' ? (e: Entry) => e.model ?? 'other' : (e: Entry) => e.feature ?? 'other';
    const nameOf = stackBy === 'model' ? (k: string) => app.modelName(k) : (k: string) => fmt.label(k);
    const series = dailySeries(app.report().entries, balance.cycle, balance.at, keyOf);
    mount(section,
      h('h2', { id: 'usage-heading' }, 'Usage'),
      h('p', { class: 'muted' }, `This cycle: ${fmt.date(balance.cycle.start)} – ${fmt.date(balance.cycle.end)}`),
      h('div', { class: 'metrics' },
        monthlyBlock(balance),
        purchasedBlock(balance, report)),
      h('p', { class: 'metric-note' }, `${fmt.exact(used)} monthly credits used, ${fmt.exact(balance.monthly.remaining)} remaining.`,
        ownKey > 0 ? ` ${fmt.exact(ownKey)} messages went to your own keys and used no credits.` : ''),
      h('div', { class: 'tables' },
        breakdownTable('Usage by feature', byFeature, total, 'usage-by-feature'),
        breakdownTable('Usage by team member', byMember, total, 'usage-by-member')),
      h('div', { class: 'chart-head' },
        h('h3', null, 'Daily usage this cycle'),
        h('div', { class: 'segmented', role: 'group', 'aria-label': 'Stack the chart by' },
          (['model', 'feature'] as const).map((by) => h('button', {
            type: 'button', 'aria-pressed': String(stackBy === by),
            onclick: () => {
              stackBy = by;
              draw();
            },
          }, by === 'model' ? 'By model' : 'By feature')))),
      app.cycleReading ? h('p', { class: 'muted', role: 'status' }, 'Reading this cycle’s entries…') : null,
      dailyChart(series, nameOf, `Daily credits used this cycle, by ${stackBy}`),
    );
  };
  draw();
  app.onChange(draw);
  void app.loadCycleEntries();
  return section;
}

function tierLabel(m: Model): string {
  return m.on_credits ? (TIER_LABELS[m.tier ?? ''] ?? '—') : 'Your own key';
}

function modelPicker(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'model-heading' });
  const status = h('p', { class: 'notice', role: 'status' });
  /** The model the admin has picked but not yet confirmed (arrow keys move it; nothing is saved). */
  let pending: string | null = null;
  let saving = false;
  const confirm = h('button', { type: 'submit', class: 'primary', 'data-testid': 'use-model' });
  const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => { pending = null; draw(); } }, 'Cancel');
  const drawConfirm = (): void => {
    const selected = app.balance().selected_model;
    const changed = pending !== null && pending !== selected;
    confirm.textContent = changed ? `Use ${app.modelName(pending!)} for everyone` : 'Use this model for everyone';
    confirm.disabled = !changed || saving || !app.online;
    cancel.hidden = !changed;
  };
  const draw = (): void => {
    const selected = app.balance().selected_model;
    if (pending === selected) pending = null;
    const shown = pending ?? selected;
    const focused = document.activeElement instanceof HTMLInputElement && section.contains(document.activeElement)
      ? document.activeElement.id : null;
    const available = app.client.availableModels();
    const hidden = app.models.filter((m) => !available.some((a) => a.id === m.id));
    const keys = app.client.keys();
    mount(section,
      h('h2', { id: 'model-heading' }, 'AI model'),
      h('form', {
        class: 'model-form',
        onsubmit: (e: Event) => {
          e.preventDefault();
          if (pending) void select(pending);
        },
        onkeydown: (e: Event) => {
          if ((e as KeyboardEvent).key === 'Escape' && pending) {
            pending = null;
            draw();
            // Focus goes back with the choice, to the model in use.
            document.getElementById(`model-${app.balance().selected_model}`)?.focus();
          }
        },
      },
      h('fieldset', { class: 'models', disabled: !app.isAdmin },
        h('legend', null, app.isAdmin ? 'Choose the model the assistant uses for everyone' : 'The model the assistant uses for everyone'),
        h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'AI models table' }, h('table', { class: 'model-table' },
          h('thead', null, h('tr', null,
            h('th', { scope: 'col' }, h('span', { class: 'sr-only' }, 'Selected')),
            h('th', { scope: 'col' }, 'Model'), h('th', { scope: 'col' }, 'Provider'),
            h('th', { scope: 'col' }, 'Credit usage'), h('th', { scope: 'col' }, 'Best for'))),
          h('tbody', null, available.map((m) => {
            const id = `model-${m.id}`;
            const ownKey = keys[m.provider] === 'connected';
            return h('tr', { class: m.id === selected ? 'selected' : '' },
              h('td', null, h('input', {
                type: 'radio', name: 'model', id, value: m.id, checked: m.id === shown,
                // The admin chooses the model for everyone (SPEC §5.1); a member sees it read-only.
                disabled: !app.online || !app.isAdmin,
                onchange: () => {
                  pending = m.id;
                  drawConfirm();
                },
              })),
              h('td', null, h('label', { for: id }, m.name,
                m.id === app.catalogue.defaultModel ? h('span', { class: 'tag' }, 'Recommended') : null,
                m.id === selected ? h('span', { class: 'tag current' }, 'In use') : null)),
              h('td', null, app.providerName(m.provider)),
              h('td', null, ownKey ? 'Your own key (0 credits)' : tierLabel(m)),
              h('td', null, m.best_for));
          }))))),
      app.isAdmin ? h('div', { class: 'form-row' }, confirm, cancel) : null),
      app.isAdmin ? null : h('p', { class: 'muted', 'data-testid': 'model-admin-only' },
        'Your admin chooses the model the assistant uses for everyone.'),
      h('p', { class: 'muted' }, h('a', { href: '#/models' }, 'Choosing the Right AI Model'), ': what each model is best for and what a question or a task costs.'),
      hidden.length > 0 ? h('p', { class: 'muted' },
        `${hidden.map((m) => m.name).join(', ')} ${hidden.length === 1 ? 'appears' : 'appear'} here when you connect your own ${[...new Set(hidden.map((m) => app.providerName(m.provider)))].join(' or ')} key${app.isAdmin ? ' below' : ' (your admin connects keys)'}.`) : null,
      status);
    drawConfirm();
    if (focused) document.getElementById(focused)?.focus();
  };
  const select = async (model: string): Promise<void> => {
    saving = true;
    drawConfirm();
    mount(status, 'Saving…');
    try {
      await app.client.send({ kind: 'select_model', model });
      pending = null;
      mount(status, `The assistant now uses ${app.modelName(model)}.`);
    } catch (e) {
      mount(status, h('span', { class: 'error' }, errorMessage(e)));
    }
    saving = false;
    await app.afterWrite();
  };
  draw();
  app.onChange(draw);
  return section;
}

function badge(row: KeyView | undefined): HTMLElement {
  if (!row) return h('span', { class: 'badge none' }, 'Not connected');
  if (row.state === 'connected') {
    return h('span', { class: 'badge ok' }, '● Connected');
  }
  // A billing problem is the provider's account, not the key (SPEC §3's message says so).
  if (row.state === 'invalid' && row.reason === 'billing') return h('span', { class: 'badge bad' }, '● Billing issue');
  return h('span', { class: 'badge bad' }, '● Key rejected');
}

function keyDetail(app: App, row: KeyView | undefined): HTMLElement | null {
  if (!row) return null;
  const when = `tested ${fmt.dateTime(row.tested_at)}`;
  const provider = app.providerName(row.provider);
  let why = '';
  if (row.state === 'invalid' && row.reason === 'billing') why = app.catalogue.billingMessage(row.provider);
  else if (row.state === 'invalid' && row.reason === 'auth') why = `${provider} refused the key: it was deleted or is wrong. Paste a new key to reconnect.`;
  else if (row.state === 'rejected' && row.reason === 'billing') why = app.catalogue.billingMessage(row.provider);
  else if (row.state === 'rejected') why = `${provider} did not accept this key. Check that it was copied whole, or create a new one.`;
  // The provider's own words, for whoever needs them, behind a disclosure.
  const detail = row.detail ? h('details', { class: 'provider-detail' }, h('summary', null, 'Details'), h('p', null, row.detail)) : null;
  return h('div', { class: 'key-detail' },
    h('p', null, `Key ending ${row.last4} · ${when}`, why ? h('span', { class: 'why' }, ` ${why}`) : null),
    detail);
}

function ownKeysCard(app: App): HTMLElement {
  const card = h('section', { class: 'card', 'aria-labelledby': 'own-keys-heading' });
  const inputs = new Map<string, HTMLInputElement>();
  const status = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  let busy = false;
  const plan = app.catalogue.plans().find((p) => p.id === app.balance().plan);

  const save = async (): Promise<void> => {
    const keys: Record<string, string> = {};
    for (const [provider, input] of inputs) if (input.value.trim()) keys[provider] = input.value.trim();
    const count = Object.keys(keys).length;
    if (count === 0) {
      mount(status, h('span', { class: 'error' }, 'Paste a key into at least one provider row first.'));
      return;
    }
    busy = true;
    draw();
    mount(status, `Testing ${count} ${count === 1 ? 'key' : 'keys'} with ${count === 1 ? 'its provider' : 'their providers'}…`);
    try {
      const saved = await app.api.saveKeys(keys);
      for (const input of inputs.values()) input.value = '';
      const ok = saved.keys.filter((k) => k.state === 'connected').length;
      const text = `${ok} of ${saved.keys.length} ${saved.keys.length === 1 ? 'key' : 'keys'} connected.`;
      mount(status, text);
      announce(text, ok === saved.keys.length ? 'ok' : 'error');
    } catch (e) {
      mount(status, h('span', { class: 'error' }, errorMessage(e)));
    }
    busy = false;
    await app.afterWrite(); // the sync brings the key events, and with them fresh key rows
  };

  const remove = async (provider: string): Promise<void> => {
    busy = true;
    draw();
    mount(status, `Removing the ${app.providerName(provider)} key…`);
    try {
      const before = app.balance().selected_model;
      const result = await app.api.removeKey(provider);
      const switched = result.selected_model !== before
        ? ` The assistant switched back to ${app.modelName(result.selected_model)}.` : '';
      mount(status, `The ${app.providerName(provider)} key was deleted; calls go back to credits.${switched}`);
    } catch (e) {
      mount(status, h('span', { class: 'error' }, errorMessage(e)));
    }
    busy = false;
    await app.afterWrite(); // the sync brings the key events, and with them fresh key rows
  };

  const draw = (): void => {
    // Redrawing keeps the inputs (and what was pasted): only the focus needs putting back.
    const focused = document.activeElement;
    const rows = app.providers.map((p) => {
      const row = app.keys.find((k) => k.provider === p.id);
      let input = inputs.get(p.id);
      if (!input) {
        input = h('input', {
          type: 'password', id: `key-${p.id}`, name: `key-${p.id}`, autocomplete: 'off', spellcheck: 'false',
          placeholder: row ? `Paste a new key to replace ••••${row.last4}` : 'Paste your API key',
        });
        inputs.set(p.id, input);
      }
      input.disabled = busy || !app.online || !plan?.own_keys;
      return h('li', { class: 'key-row', 'data-provider': p.id },
        h('div', { class: 'key-head' },
          h('label', { for: `key-${p.id}` }, `${p.name} (${p.product})`),
          badge(row)),
        h('div', { class: 'key-input' }, input,
          row ? h('button', {
            type: 'button', class: 'secondary', disabled: busy || !app.online,
            'aria-label': `Remove the ${p.name} key`, onclick: () => void remove(p.id),
          }, 'Remove') : null),
        h('p', { class: 'muted' }, 'Get a key at ', h('a', { href: `https://${p.key_url}`, target: '_blank', rel: 'noopener noreferrer' }, p.key_url)),
        keyDetail(app, row));
    });
    mount(card,
      h('h2', { id: 'own-keys-heading' }, 'Use Your Own AI Account'),
      h('p', { class: 'muted' }, `Optional. Calls to a provider with a connected key are billed by that provider and use no ${app.catalogue.platformName} credits; the keys apply to the whole business. Keys are encrypted and never shown again.`),
      h('p', { class: 'muted' }, 'See ', h('a', { href: '#/models' }, 'Choosing the Right AI Model'), ' for which model fits your needs.'),
      plan?.own_keys ? null : h('p', { class: 'banner' }, `The ${plan?.name ?? app.balance().plan} plan does not include your own keys.`),
      h('form', {
        onsubmit: (e: Event) => {
          e.preventDefault();
          void save();
        },
      },
      h('ul', { class: 'key-rows' }, rows),
      h('button', { type: 'submit', class: 'primary', disabled: busy || !app.online || !plan?.own_keys }, busy ? 'Testing…' : 'Save Keys'),
      !app.online ? h('span', { class: 'muted' }, ' Saving keys needs the server: you are offline.') : null),
      status);
    if (focused instanceof HTMLInputElement && [...inputs.values()].includes(focused)) focused.focus();
  };
  draw();
  app.onChange(draw);
  return card;
}

const ACTIONS: Record<string, string> = {
  added: 'Key added', tested: 'Key tested', marked_invalid: 'Marked invalid', removed: 'Key removed', selection_reset: 'Model switched',
  model_selected: 'Model chosen',
};

/** An audit entry's detail in plain words (the model changes in the models' names). */
function detailText(app: App, e: AuditEntry): string {
  const detail = e.detail ?? '';
  if (e.action === 'model_selected' || e.action === 'selection_reset') {
    return detail.split(' -> ').map((id) => app.modelName(id)).join(' → ');
  }
  if (e.action === 'tested') return detail === 'connected' ? 'The provider accepted the key' : 'The provider did not accept the key';
  if (e.action === 'marked_invalid') return detail === 'billing' ? 'A billing problem with the provider account' : 'The provider stopped accepting the key';
  return detail;
}

/** Who acted, for people: the host app's backend is the app itself. */
function whoText(e: AuditEntry): string {
  return e.role === 'service' ? 'Automatic (the app)' : fmt.label(e.member);
}

function auditLog(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'audit-heading' });
  const draw = (): void => {
    // The server lists the log oldest first; show the newest first.
    const entries = [...app.audit].reverse().slice(0, 50);
    mount(section,
      h('h2', { id: 'audit-heading' }, 'Audit log'),
      h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Audit log table' }, h('table', { class: 'audit', 'data-testid': 'audit' },
        h('thead', null, h('tr', null, ['When', 'Who', 'What', 'Provider', 'Detail'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, entries.length === 0
          ? h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'No key or model changes yet.'))
          : entries.map((e) => h('tr', null,
            h('td', null, fmt.dateTime(e.at)), h('td', null, whoText(e)),
            h('td', null, ACTIONS[e.action] ?? e.action),
            h('td', null, e.provider ? app.providerName(e.provider) : ''),
            h('td', null, detailText(app, e))))))));
  };
  draw();
  app.onChange(draw);
  return section;
}

export function settingsAiView(app: App, tab: 'usage' | 'configuration'): HTMLElement {
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'AI Assistant settings' },
    h('a', { href: '#/settings/ai', 'aria-current': tab === 'usage' ? 'page' : null }, 'Usage'),
    h('a', { href: '#/settings/ai/configuration', 'aria-current': tab === 'configuration' ? 'page' : null }, 'Configuration'));
  if (tab === 'configuration' && app.isAdmin) app.showKeys();
  const body = tab === 'usage'
    ? [usageSection(app)]
    : [modelPicker(app), app.isAdmin ? ownKeysCard(app) : null, app.isAdmin ? auditLog(app) : null];
  return h('div', { class: 'settings' },
    h('h1', null, 'Settings › AI Assistant'),
    tabs,
    body);
}
