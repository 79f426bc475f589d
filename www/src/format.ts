// Numbers and times for people. Every amount arrives as an integer (credits, cents,
// millionths of a dollar) and is only scaled for display here, with integer arithmetic, so
// "3,000,000" reads "3M" and 1500 cents reads "$15.00" the same way on every screen.

/** `value / unit` rounded half up to `decimals` places, without trailing zeros. */
function scaled(value: number, unit: number, decimals: number): string {
  const factor = 10 ** decimals;
  const rounded = Math.floor((value * factor) / unit + 0.5);
  const whole = Math.floor(rounded / factor);
  const fraction = String(rounded % factor).padStart(decimals, '0').replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** A credit amount, short: 950 → "950", 12_340 → "12.3k", 3_000_000 → "3M", 1_250_000 → "1.25M". */
export function compactCredits(credits: number): string {
  const n = Math.max(0, Math.trunc(credits));
  if (n < 1_000) return String(n);
  if (n < 999_950) return `${scaled(n, 1_000, n < 100_000 ? 1 : 0)}k`;
  if (n < 999_995_000) return `${scaled(n, 1_000_000, 2)}M`;
  return `${scaled(n, 1_000_000_000, 2)}B`;
}

/** "3M credits", "1 credit". */
export function credits(n: number): string {
  return `${compactCredits(n)} ${n === 1 ? 'credit' : 'credits'}`;
}

/** Every digit, grouped: 1234567 → "1,234,567". */
export function exact(n: number): string {
  return Math.trunc(n).toLocaleString('en-US');
}

/** Cents as dollars: 1500 → "$15.00". */
export function usdCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(cents));
  const dollars = Math.floor(abs / 100).toLocaleString('en-US');
  return `${sign}$${dollars}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * An AI cost in millionths of a dollar, for people: whole cents ("$0.12", "$3.10"), and
 * "< 1¢" for what would round to no cent (one message usually costs less than a cent).
 */
export function usdMicros(micros: number): string {
  const n = Math.max(0, Math.trunc(micros));
  if (n === 0) return '$0.00';
  if (n < 5_000) return '< 1¢';
  return usdCents(Math.floor((n + 5_000) / 10_000));
}

/** An approximate dollar amount: "≈ $0.03", or "< 1¢" (which says it is approximate already). */
export function approxUsdMicros(micros: number): string {
  const text = usdMicros(micros);
  return text.startsWith('<') ? text : `≈ ${text}`;
}

/** A range of credits: "1.2k–3.4k credits", or one figure when both ends agree. */
export function creditRange(low: number, high: number): string {
  const a = compactCredits(low);
  const b = compactCredits(high);
  return a === b ? credits(high) : `${a}–${b} credits`;
}

const dateFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric',
});
const dayFormat = new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric' });
/** A time in the reader's own zone, named ("Dec 2, 3:05 PM EST"); `timeZone` for tests. */
function timeFormat(timeZone?: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone, month: 'short', day: 'numeric', hour: 'numeric', minute: '2-digit', timeZoneName: 'short',
  });
}
const localTime = timeFormat();

/** "Dec 2, 2026" (a date of the ledger: its cycles and expiries fall on UTC days). */
export function date(instant: string): string {
  return dateFormat.format(new Date(instant));
}

/** "Dec 2". */
export function day(instant: string | Date): string {
  return dayFormat.format(typeof instant === 'string' ? new Date(instant) : instant);
}

/** A moment in the reader's local time with its zone: "Dec 2, 3:05 PM EST". */
export function dateTime(instant: string, timeZone?: string): string {
  return (timeZone ? timeFormat(timeZone) : localTime).format(new Date(instant));
}

/** How long ago, for a staleness badge: "just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago". */
export function ago(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min ago`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} days ago`;
}

/** Whole days from `from` until `to` (rounded down; negative once past). */
export function daysUntil(to: string, from: Date = new Date()): number {
  return Math.floor((new Date(to).getTime() - from.getTime()) / 86_400_000);
}

/** A share as a whole percentage for bars: 0..100, 0 when there is no whole. */
export function percent(part: number, whole: number): number {
  if (whole <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((part * 100) / whole)));
}

/** "maya" → "Maya"; "text_generation" → "Text generation". */
export function label(id: string): string {
  const words = id.replace(/[_-]+/g, ' ').trim();
  return words ? words[0]!.toUpperCase() + words.slice(1) : id;
}

/** A message as a sentence: a capital first letter and a full stop ("credits are used up" → "Credits are used up."). */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const first = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?)]$/.test(first) ? first : `${first}.`;
}
