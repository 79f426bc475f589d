// Settings › Billing & Plan: the plan, the AI credit packs on offer with Purchase, the packs
// owned (oldest used first, with what is left and when it expires), and the forecast: the
// runway at the recent pace, and for each pack size what buying it would change and what of
// it would expire unused.

import type { Forecast, PackReport, Runway } from 'ai-credits';
import type { App } from '../app';
import { errorCode, errorMessage, type Receipt } from '../api';
import { announce, h, mount, progressBar } from '../dom';
import * as fmt from '../format';

/** The window of the burn rate, in days. */
const BURN_WINDOW_DAYS = 14;

/** How much of a pack would expire unused, for people. */
function breakageText(breakage: number, credits: number): string {
  if (breakage <= 0) return 'none';
  if (breakage >= credits) return 'all of it';
  if (breakage * 2 > credits) return `most of it (${fmt.credits(breakage)})`;
  return fmt.credits(breakage);
}

/** The forecast in plain sentences: whether the month's credits cover the pace, and which pack, if any, helps. */
function forecastSentences(f: Forecast, allowance: number): string {
  const { burn, runway } = f;
  const pace = `At your recent pace (≈ ${fmt.credits(burn.credits_per_day)} a day over the last ${BURN_WINDOW_DAYS} days)`;
  const cheapest = f.what_if[0];
  const wasted = cheapest !== undefined && cheapest.breakage * 2 > cheapest.credits
    ? '; a pack bought now would mostly expire unused' : '';
  if (!runway.exhausted_at) {
    return burn.credits_per_day * 30 <= allowance
      ? `${pace}, your monthly credits cover your usage${wasted}.`
      : `${pace}, your credits last past ${fmt.date(runway.horizon)}${wasted}.`;
  }
  const refill = runway.refills_at ? `; the monthly refill on ${fmt.date(runway.refills_at)} brings new credits` : '';
  // The smallest pack that moves the day credits run out, and to when.
  const helps = f.what_if.find((w) => !w.runway.exhausted_at || w.runway.exhausted_at > runway.exhausted_at!);
  const advice = helps
    ? ` A ${fmt.compactCredits(helps.credits)}-credit pack bought now would ${helps.runway.exhausted_at ? `make them last until ${fmt.date(helps.runway.exhausted_at)}` : `make them last past ${fmt.date(helps.runway.horizon)}`}.`
    : '';
  return `${pace}, your credits run out on ${fmt.date(runway.exhausted_at)}${refill}.${advice}`;
}

function runwayText(r: Runway): string {
  if (!r.exhausted_at) return `last past ${fmt.date(r.horizon)}`;
  const refill = r.refills_at ? ` (refilled on ${fmt.date(r.refills_at)})` : '';
  return `run out on ${fmt.date(r.exhausted_at)}${refill}`;
}

function packStatus(p: PackReport, live: PackReport[], now: string): { text: string; tone: string } {
  if (p.expires_at <= now) return p.expired > 0 ? { text: `Expired, ${fmt.credits(p.expired)} unused`, tone: 'muted' } : { text: 'Expired', tone: 'muted' };
  if (p.remaining === 0) return { text: 'Used up', tone: 'muted' };
  const days = fmt.daysUntil(p.expires_at, new Date(now));
  const expiring = days <= 30 ? ` · expires in ${days <= 0 ? 'less than a day' : `${days} ${days === 1 ? 'day' : 'days'}`}` : '';
  if (live[0] === p) return { text: `Used first${expiring}`, tone: days <= 30 ? 'warn' : 'ok' };
  return { text: `Used after ${live.indexOf(p) === 1 ? 'the one above' : 'the ones above'}${expiring}`, tone: days <= 30 ? 'warn' : '' };
}

function ownedPacks(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'owned-heading' });
  const draw = (): void => {
    const balance = app.balance();
    const packs = [...app.report().packs].sort((a, b) => (a.purchased_at < b.purchased_at ? -1 : 1));
    const live = packs.filter((p) => p.remaining > 0 && p.expires_at > balance.at);
    mount(section,
      h('h2', { id: 'owned-heading' }, 'Your credit packs'),
      h('p', { class: 'muted' }, 'Packs are used only after the monthly credits run out, the oldest first, and each is valid for 12 months from purchase.'),
      h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Your credit packs table' }, h('table', { class: 'packs', 'data-testid': 'owned-packs' },
        h('thead', null, h('tr', null, ['Pack', 'Purchased', 'Expires', 'Remaining', 'Status'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, packs.length === 0
          ? h('tr', null, h('td', { colspan: 5, class: 'muted' }, 'No packs yet.'))
          : packs.map((p) => {
            const status = packStatus(p, live, balance.at);
            return h('tr', null,
              h('th', { scope: 'row' }, fmt.credits(p.credits)),
              h('td', null, fmt.date(p.purchased_at)),
              h('td', null, fmt.date(p.expires_at)),
              h('td', null, h('span', { class: 'num' }, fmt.credits(p.remaining)),
                progressBar(`${fmt.credits(p.credits)} pack bought ${fmt.date(p.purchased_at)}: remaining`, p.remaining, p.credits,
                  `${fmt.exact(p.remaining)} of ${fmt.exact(p.credits)} credits remaining`)),
              h('td', { class: status.tone }, status.text));
          })))));
  };
  draw();
  app.onChange(draw);
  return section;
}

function offers(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'packs-heading' });
  const status = h('p', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  let confirming: string | null = null;
  let buying = false;
  /** The payment method on file as the server names it ("Visa ending in 4242"), once read. */
  let method = 'the payment method on file';
  if (app.isAdmin && app.online) {
    void app.api.paymentMethod().then((m) => {
      if (m.payment_method) {
        method = m.payment_method.label;
        draw();
      }
    }, () => undefined); // unreadable: the purchase names "the payment method on file"
  }

  const purchase = async (pack: string, credits: number, price: number): Promise<void> => {
    buying = true;
    draw();
    mount(status, `Charging ${fmt.usdCents(price)} to ${method}…`);
    try {
      await app.client.send({ kind: 'purchase_pack', pack });
      const text = `${fmt.credits(credits)} added to your account for ${fmt.usdCents(price)}.`;
      mount(status, text);
      announce(text);
    } catch (e) {
      const text = errorCode(e) === 'payment_declined'
        ? `The payment was declined: ${errorMessage(e)}` : `The purchase did not go through: ${errorMessage(e)}`;
      mount(status, h('span', { class: 'error' }, text));
    }
    buying = false;
    confirming = null;
    await app.afterWrite();
  };

  const draw = (): void => {
    const plan = app.catalogue.plans().find((p) => p.id === app.balance().plan);
    const allowed = (plan?.packs ?? false) && app.isAdmin;
    mount(section,
      h('h2', { id: 'packs-heading' }, 'AI Credit Packs'),
      h('p', { class: 'muted', 'data-testid': 'payment-method' }, `Credits are charged to ${method} and added to your account immediately.`),
      !(plan?.packs ?? false) ? h('p', { class: 'banner' }, `The ${plan?.name ?? ''} plan does not offer credit packs.`)
        : !app.isAdmin ? h('p', { class: 'banner' }, 'Only an administrator of the account can buy credit packs.') : null,
      h('ul', { class: 'offers' }, app.catalogue.packs().map((p) => {
        const name = `${fmt.credits(p.credits)}`;
        const confirm = confirming === p.id;
        return h('li', { class: 'offer' },
          h('span', { class: 'offer-name' }, name),
          h('span', { class: 'offer-price' }, fmt.usdCents(p.price_cents)),
          confirm
            ? h('span', {
              class: 'confirm', role: 'group', 'aria-label': `Confirm buying ${name}`,
              // Escape cancels, as the Cancel button does, and gives the focus back to Purchase.
              onkeydown: (e: Event) => {
                if ((e as KeyboardEvent).key === 'Escape' && !buying) {
                  e.preventDefault();
                  confirming = null;
                  draw();
                  section.querySelector<HTMLButtonElement>(`[data-pack="${p.id}"]`)?.focus();
                }
              },
            },
              h('span', { class: 'confirm-text' }, `${fmt.usdCents(p.price_cents)} for ${name}, charged to ${method}.`),
              h('button', {
                type: 'button', class: 'primary', disabled: buying || !app.online,
                onclick: () => void purchase(p.id, p.credits, p.price_cents),
              }, `Confirm ${fmt.usdCents(p.price_cents)}`),
              h('button', {
                type: 'button', class: 'secondary', disabled: buying,
                onclick: () => {
                  confirming = null;
                  draw();
                  section.querySelector<HTMLButtonElement>(`[data-pack="${p.id}"]`)?.focus();
                },
              }, 'Cancel'))
            : h('button', {
              type: 'button', class: 'secondary', disabled: buying || !app.online || !allowed, 'data-pack': p.id,
              'aria-label': `Purchase ${name} for ${fmt.usdCents(p.price_cents)}`,
              onclick: () => { confirming = p.id; draw(); },
            }, 'Purchase'));
      })),
      !app.online ? h('p', { class: 'muted' }, 'Purchases need the server: you are offline.') : null,
      status);
    if (confirming) section.querySelector<HTMLButtonElement>('.confirm .primary')?.focus();
  };
  draw();
  app.onChange(draw);
  return section;
}

function forecastSection(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'forecast-heading' });
  const draw = (): void => {
    let forecast: Forecast;
    try {
      forecast = app.client.forecast(null, BURN_WINDOW_DAYS);
    } catch (e) {
      mount(section, h('h2', { id: 'forecast-heading' }, 'Forecast'), h('p', { class: 'error' }, errorMessage(e)));
      return;
    }
    const { burn, runway } = forecast;
    mount(section,
      h('h2', { id: 'forecast-heading' }, 'Forecast'),
      burn.credits === 0
        ? h('p', { 'data-testid': 'runway' }, `No credits used in the last ${BURN_WINDOW_DAYS} days, so nothing runs out at this pace.`)
        : h('p', { 'data-testid': 'runway' }, forecastSentences(forecast, app.balance().monthly.allowance),
          runway.breakage > 0 ? ` ${fmt.credits(runway.breakage)} of the packs you have would expire unused at this pace.` : ''),
      h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'If you bought a pack now table' }, h('table', { class: 'what-if', 'data-testid': 'what-if' },
        h('caption', null, 'If you bought a pack now'),
        h('thead', null, h('tr', null, ['Pack', 'Price', 'Your credits would', 'Would expire unused'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, forecast.what_if.map((w) => h('tr', null,
          h('th', { scope: 'row' }, fmt.credits(w.credits)),
          h('td', null, fmt.usdCents(w.price_cents)),
          h('td', null, runwayText(w.runway)),
          h('td', { class: w.breakage > 0 ? 'warn' : '' }, breakageText(w.breakage, w.credits))))))));
  };
  draw();
  app.onChange(draw);
  return section;
}

/** A receipt line per paid purchase (admins: who buys may read them). */
function receipts(app: App): HTMLElement {
  const section = h('section', { class: 'card', 'aria-labelledby': 'receipts-heading' });
  let lines: Receipt[] | null = null;
  let failed = '';
  let seen = -1;
  const draw = (): void => {
    mount(section,
      h('h2', { id: 'receipts-heading' }, 'Receipts'),
      failed ? h('p', { class: 'muted' }, failed)
        : lines === null ? h('p', { class: 'muted', role: 'status' }, 'Reading your receipts…')
          : lines.length === 0 ? h('p', { class: 'muted' }, 'No purchases yet.')
            : h('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Receipts table' },
              h('table', { class: 'receipts', 'data-testid': 'receipts' },
                h('thead', null, h('tr', null, ['Date', 'Pack', 'Amount', 'Bought by', 'Receipt no.'].map((c) => h('th', { scope: 'col' }, c)))),
                h('tbody', null, lines.map((r) => h('tr', null,
                  h('td', null, fmt.date(r.charged_at)),
                  h('th', { scope: 'row' }, r.credits ? fmt.credits(r.credits) : r.pack),
                  h('td', null, fmt.usdCents(r.amount_cents)),
                  h('td', null, fmt.label(r.member)),
                  // Purchases imported with the account's history have no processor charge.
                  h('td', { class: 'mono' }, r.processor_charge_id === 'history' ? '—' : r.processor_charge_id)))))));
  };
  const load = async (): Promise<void> => {
    try {
      lines = (await app.api.receipts()).receipts;
      failed = '';
    } catch (e) {
      failed = errorCode(e) === 'offline' ? 'Receipts need the server: you are offline.' : `Receipts could not be read: ${errorMessage(e)}`;
    }
    draw();
  };
  draw();
  void load();
  // A purchase adds a pack: read the receipts again when the number of packs changes.
  app.onChange(() => {
    const packs = app.report().packs.length;
    if (packs !== seen) {
      if (seen !== -1) void load();
      seen = packs;
    }
  });
  seen = app.report().packs.length;
  return section;
}

export function billingView(app: App): HTMLElement {
  const plan = app.catalogue.plans().find((p) => p.id === app.balance().plan);
  const b = app.balance();
  return h('div', { class: 'settings' },
    h('h1', null, 'Settings › Billing & Plan'),
    h('section', { class: 'card', 'aria-labelledby': 'plan-heading' },
      h('h2', { id: 'plan-heading' }, `${plan?.name ?? b.plan} plan`),
      h('p', null, `${fmt.credits(plan?.monthly_credits ?? b.monthly.allowance)} a month, refilled on ${fmt.date(b.cycle.end)}.`)),
    offers(app),
    ownedPacks(app),
    forecastSection(app),
    app.isAdmin ? receipts(app) : null);
}
