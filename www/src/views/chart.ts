// Daily usage of the current cycle as stacked bars (SVG), by model or by feature, with a
// text summary for screen readers and a table beside it for exact numbers.

import type { Cycle, Entry } from 'ai-credits';
import { h, s } from '../dom';
import * as fmt from '../format';

const COLOURS = ['#4f46e5', '#0891b2', '#d97706', '#059669', '#db2777', '#7c3aed', '#65a30d', '#dc2626'];
const DAY_MS = 86_400_000;

export interface DailySeries {
  /** UTC days, `YYYY-MM-DD`, from the cycle's first day to today. */
  days: string[];
  /** Series names in order of total, largest first. */
  keys: string[];
  /** credits[day][key]. */
  credits: Array<Map<string, number>>;
}

/** Buckets entries billed to credits by UTC day and by `keyOf`. */
export function dailySeries(entries: Entry[], cycle: Cycle, now: string, keyOf: (e: Entry) => string): DailySeries {
  const first = Date.parse(cycle.start.slice(0, 10));
  const last = Date.parse((now < cycle.end ? now : cycle.end).slice(0, 10));
  const days: string[] = [];
  for (let t = first; t <= last && days.length < 62; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10));
  const index = new Map(days.map((d, i) => [d, i]));
  const credits = days.map(() => new Map<string, number>());
  const totals = new Map<string, number>();
  for (const e of entries) {
    if (e.billed_to !== 'credits' || e.credits === 0 || e.at < cycle.start || e.at >= cycle.end) continue;
    const i = index.get(e.at.slice(0, 10));
    if (i === undefined) continue;
    const key = keyOf(e);
    credits[i]!.set(key, (credits[i]!.get(key) ?? 0) + e.credits);
    totals.set(key, (totals.get(key) ?? 0) + e.credits);
  }
  const keys = [...totals.keys()].sort((a, b) => (totals.get(b) ?? 0) - (totals.get(a) ?? 0) || a.localeCompare(b));
  return { days, keys, credits };
}

export function dailyChart(series: DailySeries, name: (key: string) => string, title: string): HTMLElement {
  const { days, keys, credits } = series;
  const dayTotals = credits.map((m) => [...m.values()].reduce((a, b) => a + b, 0));
  const peak = Math.max(1, ...dayTotals);
  // Horizontal positions are percentages and vertical ones pixels, so the chart fills any
  // width while its text keeps its size (a scaled viewBox would shrink it on a phone).
  const height = 220;
  const top = 16;
  const bottom = 22;
  const plot = height - top - bottom;
  const slot = 100 / Math.max(1, days.length);
  const bar = slot * 0.7;
  const pct = (x: number): string => `${x.toFixed(3)}%`;
  const colour = (key: string): string => COLOURS[keys.indexOf(key) % COLOURS.length]!;
  const total = dayTotals.reduce((a, b) => a + b, 0);
  const peakDay = dayTotals.indexOf(Math.max(...dayTotals, 0));
  const summary = total === 0
    ? `${title}: no credits used yet this cycle.`
    : `${title}: ${fmt.credits(total)} over ${days.length} days; the busiest day was ${fmt.day(days[peakDay]! + 'T00:00:00Z')} with ${fmt.credits(dayTotals[peakDay]!)}.`;

  const bars = days.map((d, i) => {
    let y = top + plot;
    const x = i * slot + (slot - bar) / 2;
    return keys.filter((k) => credits[i]!.has(k)).map((k) => {
      const value = credits[i]!.get(k)!;
      const hgt = (value / peak) * plot;
      y -= hgt;
      return s('rect', { x: pct(x), y: y.toFixed(1), width: pct(bar), height: Math.max(0.5, hgt).toFixed(1), fill: colour(k) },
        s('title', null, `${fmt.day(d + 'T00:00:00Z')} · ${name(k)}: ${fmt.exact(value)} credits`));
    });
  });
  const ticks = [0.5, 1].map((f) => {
    const y = top + plot - f * plot;
    return [
      s('line', { x1: '0', x2: '100%', y1: y, y2: y, class: 'grid' }),
      s('text', { x: '0', y: y - 3, class: 'axis' }, fmt.credits(Math.round(peak * f))),
    ];
  });
  const baseline = s('line', { x1: '0', x2: '100%', y1: top + plot, y2: top + plot, class: 'grid' });
  const labelEvery = Math.max(1, Math.ceil(days.length / 7));
  const labels = days.map((d, i) => i % labelEvery === 0
    ? s('text', { x: pct(i * slot + slot / 2), y: height - 6, 'text-anchor': 'middle', class: 'axis' }, fmt.day(d + 'T00:00:00Z'))
    : null);

  return h('figure', { class: 'chart' },
    s('svg', { width: '100%', height, role: 'img', 'aria-label': summary }, bars, ticks, baseline, labels),
    h('figcaption', null,
      h('ul', { class: 'legend' }, keys.map((k) => h('li', null,
        h('span', { class: 'swatch', style: `background: ${colour(k)}`, 'aria-hidden': 'true' }), name(k)))),
      h('p', { class: 'muted' }, summary)));
}
