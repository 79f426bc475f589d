import { expect, test } from 'vitest';
import { diff } from '../src/views/assistant';

function apply(before: string, e: ReturnType<typeof diff>): string {
  return before.slice(0, e.start) + e.inserted + before.slice(e.start + e.deleteCount);
}

test('the composer turns any edit into one splice that reproduces the new text', () => {
  // Proves diff() for typing, deleting, pasting over a selection and repeated letters.
  const cases: Array<[string, string]> = [
    ['', 'H'], ['How', 'How '], ['How many', 'How many bookings'], ['aaaa', 'aaa'], ['abc', 'aXc'],
    ['hello world', 'hello'], ['hello', ''], ['same', 'same'], ['abab', 'ababab'],
  ];
  for (const [a, b] of cases) expect(apply(a, diff(a, b))).toBe(b);
  expect(diff('How', 'How ')).toEqual({ start: 3, deleteCount: 0, inserted: ' ' });
});

test('an edit next to an emoji never splits its surrogate pair', () => {
  // Proves splice offsets stay on code-point boundaries, as TokenCounter.splice requires.
  const cases: Array<[string, string]> = [['a😀', 'a😁'], ['😀b', '😁b'], ['x😀y', 'x😀😀y'], ['😀', '']];
  for (const [a, b] of cases) {
    const e = diff(a, b);
    expect(apply(a, e)).toBe(b);
    const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
    expect(isLow(a.charCodeAt(e.start))).toBe(false);
    expect(isLow(a.charCodeAt(e.start + e.deleteCount))).toBe(false);
  }
});
