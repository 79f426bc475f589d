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
 * An AI cost in millionths of a dollar: cents from one cent up ("$0.12"), below that two
 * significant digits ("$0.0042"), so a single message's cost never shows as "$0.00".
 */
export function usdMicros(micros: number): string {
  const n = Math.max(0, Math.trunc(micros));
  if (n === 0) return '$0.00';
  if (n >= 10_000) return usdCents(Math.floor((n + 5_000) / 10_000));
  // Two significant digits, rounded once: scale down by whole powers of ten.
  let places = 6; // decimal places of a micro-dollar
  let divisor = 1;
  while (n / divisor >= 100) {
    divisor *= 10;
    places -= 1;
  }
  let value = Math.floor((n + Math.floor(divisor / 2)) / divisor);
  if (value >= 100) {
    value = Math.floor(value / 10);
    places -= 1;
  }
  const text = String(value).padStart(places, '0');
  return `$0.${text}`.replace(/0+$/, '');
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
const timeFormat = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false,
});

/** "Dec 2, 2026" (UTC: the ledger's days are UTC days). */
export function date(instant: string): string {
  return dateFormat.format(new Date(instant));
}

/** "Dec 2". */
export function day(instant: string | Date): string {
  return dayFormat.format(typeof instant === 'string' ? new Date(instant) : instant);
}

/** "Dec 2, 14:05 UTC". */
export function dateTime(instant: string): string {
  return `${timeFormat.format(new Date(instant))} UTC`;
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
