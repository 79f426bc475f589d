// The edit between two texts, as one splice (copied into pkg/ by scripts/build-pkg.sh and
// exported by the entries): what a text field's change hands a `TokenCounter`.

/** The edit that turns `before` into `after`: one splice, never splitting a surrogate pair. */
export function textEdit(before, after) {
  const max = Math.min(before.length, after.length);
  let start = 0;
  while (start < max && before.charCodeAt(start) === after.charCodeAt(start)) start++;
  if (start > 0 && isHigh(before.charCodeAt(start - 1))) start--;
  let tail = 0;
  while (tail < max - start && before.charCodeAt(before.length - 1 - tail) === after.charCodeAt(after.length - 1 - tail)) tail++;
  if (tail > 0 && isLow(before.charCodeAt(before.length - tail))) tail--;
  return { start, deleteCount: before.length - start - tail, inserted: after.slice(start, after.length - tail) };
}

const isHigh = (c) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c) => c >= 0xdc00 && c <= 0xdfff;
