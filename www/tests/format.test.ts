import { describe, expect, test } from 'vitest';
import * as fmt from '../src/format';

describe('numbers for people', () => {
  test('credits read short: 3,000,000 is "3M credits"', () => {
    // Proves the compact credit format at each scale and its rounding edges.
    expect(fmt.credits(3_000_000)).toBe('3M credits');
    expect(fmt.credits(1_250_000)).toBe('1.25M credits');
    expect(fmt.credits(1)).toBe('1 credit');
    expect(fmt.compactCredits(950)).toBe('950');
    expect(fmt.compactCredits(12_340)).toBe('12.3k');
    expect(fmt.compactCredits(640_512)).toBe('641k');
    expect(fmt.compactCredits(999_949)).toBe('1000k');
    expect(fmt.compactCredits(999_950)).toBe('1M');
    expect(fmt.compactCredits(0)).toBe('0');
    expect(fmt.creditRange(1_200, 3_400)).toBe('1.2k–3.4k credits');
    expect(fmt.creditRange(1_200, 1_201)).toBe('1.2k credits');
  });

  test('cents read as dollars: 1500 is "$15.00"', () => {
    // Proves prices format with two decimals and thousands separators.
    expect(fmt.usdCents(1500)).toBe('$15.00');
    expect(fmt.usdCents(8900)).toBe('$89.00');
    expect(fmt.usdCents(5)).toBe('$0.05');
    expect(fmt.usdCents(123_456)).toBe('$1,234.56');
  });

  test('AI costs are rounded for people: whole cents, and "< 1¢" below half a cent', () => {
    // Proves micro-dollar costs read as cents, rounded half up, with "< 1¢" for what rounds to no cent.
    expect(fmt.usdMicros(0)).toBe('$0.00');
    expect(fmt.usdMicros(7)).toBe('< 1¢');
    expect(fmt.usdMicros(4_999)).toBe('< 1¢');
    expect(fmt.usdMicros(5_000)).toBe('$0.01');
    expect(fmt.usdMicros(120_000)).toBe('$0.12');
    expect(fmt.usdMicros(3_104_999)).toBe('$3.10');
  });

  test('times are local, with the zone named', () => {
    // Proves a moment reads in the given zone with its abbreviation (the app passes none: the reader's own).
    expect(fmt.dateTime('2026-12-02T14:05:00Z', 'America/New_York')).toBe('Dec 2, 9:05 AM EST');
    expect(fmt.dateTime('2026-12-02T14:05:00Z', 'UTC')).toBe('Dec 2, 2:05 PM UTC');
  });

  test('staleness and labels read naturally', () => {
    // Proves the badge's "how long ago" wording and id-to-label conversion.
    expect(fmt.ago(1_000)).toBe('just now');
    expect(fmt.ago(42_000)).toBe('42 s ago');
    expect(fmt.ago(5 * 60_000)).toBe('5 min ago');
    expect(fmt.ago(3 * 3_600_000)).toBe('3 h ago');
    expect(fmt.ago(3 * 86_400_000)).toBe('3 days ago');
    expect(fmt.label('text_generation')).toBe('Text generation');
    expect(fmt.date('2026-12-02T00:00:00Z')).toBe('Dec 2, 2026');
    expect(fmt.percent(1, 3)).toBe(33);
    expect(fmt.percent(5, 0)).toBe(0);
    expect(fmt.sentence('credits are used up')).toBe('Credits are used up.');
    expect(fmt.sentence('Done.')).toBe('Done.');
  });
});
