// The token-estimation corpus: text this project did not write, read at run time from files that
// are already on the machine (Debian docs and licences, crates in the cargo registry, npm's own
// sources, vim's tutor translations, GnuPG's help files, shared-mime-info's and TypeScript's
// translations),
// grouped by kind and cut into samples of chat-message size. Nothing here is committed: only
// the recipe. Every choice is made by hashing paths (bottom-k sampling, a PRNG seeded by the
// file's path), so the same files give the same samples, and files added to the machine later
// (a new crate in the cargo registry) change the selection only a little; `half` splits the
// samples into the calibration half (0) and the held-out half (1).
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import { homedir } from 'node:os';

export const KINDS = ['prose', 'markdown', 'code', 'json', 'latin-languages', 'cjk', 'cyrillic-greek', 'other-scripts'];

const SAMPLE_CHARS_MIN = 100;
const SAMPLE_CHARS_MAX = 2000;
const SAMPLES_PER_FILE_MAX = 6;
// The translations come from few, long files: take more from each.
const SAMPLES_PER_TRANSLATION_MAX = 60;
const TRANSLATION_KINDS = new Set(['latin-languages', 'cjk', 'cyrillic-greek', 'other-scripts']);
const SAMPLES_PER_KIND_MAX = 700;
const FILE_BYTES_MAX = 4_000_000;

function prng(seed) {
  // mulberry32: small, seeded, good enough to pick samples.
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** FNV-1a of a string's UTF-16 units. */
function fnv(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The `n` items of `list` whose keys hash lowest: a sample that adding items barely moves. */
function bottomK(list, n, key = (x) => x) {
  return list
    .map((x) => [fnv(key(x)), key(x), x])
    .sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .slice(0, n)
    .map((e) => e[2]);
}

/** Every file under `dir` (sorted) whose path passes `keep`, without following symlinks. */
function walk(dir, keep, out = [], depth = 0) {
  if (depth > 12 || !existsSync(dir)) return out;
  let names;
  try {
    names = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const d of names) {
    const path = join(dir, d.name);
    if (d.isDirectory()) walk(path, keep, out, depth + 1);
    else if (d.isFile() && keep(path)) out.push(path);
  }
  return out;
}

function glob(dir, re) {
  return walk(dir, (p) => re.test(p));
}

/** UTF-8 text of a file, or null when it is binary, not UTF-8 or too big. */
function readText(path) {
  try {
    if (statSync(path).size > FILE_BYTES_MAX) return null;
    let bytes = readFileSync(path);
    if (path.endsWith('.gz')) bytes = gunzipSync(bytes);
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return text.includes('\0') ? null : text;
  } catch {
    return null;
  }
}

/** The translated `<comment xml:lang="…">` strings of shared-mime-info, one per line. */
function mimeComments(langs) {
  const text = readText('/usr/share/mime/packages/freedesktop.org.xml') ?? '';
  const out = [];
  for (const lang of langs) {
    const re = new RegExp(`<comment xml:lang="${lang}">([^<]*)</comment>`, 'g');
    const lines = [...text.matchAll(re)].map((m) => m[1]);
    if (lines.length) out.push({ path: `freedesktop.org.xml[${lang}]`, text: lines.join('\n') + '\n' });
  }
  return out;
}

/** Translated `Name[xx]=` / `Comment[xx]=` lines of .desktop files and polkit messages. */
function desktopTranslations(langs) {
  const files = [...glob('/usr/share/applications', /\.desktop$/), ...glob('/usr/share/polkit-1/actions', /\.policy$/)];
  const texts = files.map(readText).filter(Boolean);
  const out = [];
  for (const lang of langs) {
    const re = new RegExp(`(?:\\[${lang}\\]=([^\\n]*))|(?:xml:lang="${lang}">([^<]*)<)`, 'g');
    const lines = texts.flatMap((t) => [...t.matchAll(re)].map((m) => m[1] ?? m[2]));
    if (lines.length) out.push({ path: `desktop+polkit[${lang}]`, text: lines.join('\n') + '\n' });
  }
  return out;
}

function files(paths, transform = (t) => t) {
  return paths.map((path) => ({ path, text: readText(path) })).filter((f) => f.text).map((f) => ({ path: f.path, text: transform(f.text) }));
}

const stripHashHeader = (t) => t.replace(/^(#[^\n]*\n)+/, '');

/** TypeScript's translated compiler messages for these locales, one message per line. */
function typescriptMessages(locales) {
  return locales.flatMap((locale) => {
    const path = `/work/main/node_modules/typescript/lib/${locale}/diagnosticMessages.generated.json`;
    const text = readText(path);
    if (!text) return [];
    const values = Object.values(JSON.parse(text)).filter((v) => typeof v === 'string');
    return [{ path: `${path}[values]`, text: values.join('\n') + '\n' }];
  });
}

const cargoSrc = () => {
  const root = join(homedir(), '.cargo/registry/src');
  return existsSync(root) ? readdirSync(root).map((d) => join(root, d)).sort() : [];
};

/** Source files by kind (each an array of {path, text}). */
function sources() {
  const pick = (list, n) => bottomK(list, n).sort();
  const vimTutor = (langs) => langs.map((l) => `/usr/share/vim/vim90/tutor/tutor.${l}.utf-8`);
  const gnupg = (langs) => langs.map((l) => `/usr/share/gnupg/help.${l}.txt`);
  const registry = cargoSrc();
  const rust = registry.flatMap((r) => glob(r, /\.rs$/));
  const readmes = registry.flatMap((r) => readdirSync(r).map((c) => join(r, c, 'README.md')).filter(existsSync));
  const npmJs = glob('/usr/lib/node_modules/npm', /\.js$/);
  const localJs = glob('/work/main/node_modules', /\.(m?js)$/).filter((p) => !p.includes('/ai-credits/') && !p.includes('/bpeRanks/') && !p.includes('/binaryen/'));
  const json = [
    // Code-page tables (every character of an encoding, in code order) are not text anyone
    // types; TypeScript's translated messages are used as text by the language kinds instead.
    ...glob('/usr/lib/node_modules', /\.json$/).filter((p) => !p.includes('/iconv-lite/encodings/tables/')),
    ...glob('/work/main/node_modules', /\.json$/).filter(
      (p) => !p.includes('/ai-credits/') && !p.endsWith('.package-lock.json') && !p.endsWith('diagnosticMessages.generated.json'),
    ),
    ...registry.flatMap((r) => glob(r, /\.json$/)).filter((p) => !p.endsWith('.cargo_vcs_info.json')),
    ...glob('/usr/share/doc/nodejs/api', /\.json\.gz$/),
  ];
  return {
    prose: files([
      ...glob('/usr/share/common-licenses', /./),
      ...pick(glob('/usr/share/doc', /\/copyright$/), 250),
      ...pick(glob('/usr/share/doc/git/RelNotes', /\.txt$/), 120),
    ]),
    markdown: files([...glob('/usr/share/doc/nodejs/api', /\.md$/), ...pick(readmes, 200)]),
    // Minified bundles (very long lines) are not what people paste into a chat.
    code: files([...pick(rust, 400), ...pick(npmJs, 250), ...localJs]).filter((f) => !/[^\n]{400}/.test(f.text.slice(0, 20000))),
    json: files(pick(json, 400)),
    'latin-languages': [
      ...files(vimTutor(['de', 'fr', 'es', 'it', 'pt', 'nl', 'pl', 'cs', 'sk', 'hu', 'hr', 'da', 'sv', 'nb', 'tr', 'vi', 'lv', 'eo', 'ca'])),
      ...files(gnupg(['de', 'es', 'fi', 'fr', 'hu', 'id', 'it', 'pl', 'pt', 'ro', 'sk', 'tr']), stripHashHeader),
      ...typescriptMessages(['cs', 'de', 'es', 'fr', 'it', 'pl', 'pt-br', 'tr']),
    ],
    cjk: [
      ...files(vimTutor(['zh_cn', 'zh_tw', 'ja', 'ko'])),
      ...files(gnupg(['ja', 'zh_CN', 'zh_TW']), stripHashHeader),
      ...mimeComments(['ja', 'zh_CN', 'zh_TW', 'ko']),
      ...typescriptMessages(['ja', 'ko', 'zh-cn', 'zh-tw']),
    ],
    'cyrillic-greek': [
      ...files(vimTutor(['ru', 'uk', 'bg', 'sr', 'el'])),
      ...files(gnupg(['ru']), stripHashHeader),
      ...mimeComments(['ru', 'uk', 'bg', 'kk', 'el']),
      ...typescriptMessages(['ru']),
    ],
    'other-scripts': [
      ...mimeComments(['ar', 'he', 'ka']),
      ...desktopTranslations(['ar', 'he', 'fa', 'hi', 'mr', 'ne', 'bn', 'ta', 'te', 'th', 'am', 'ka', 'hy', 'km']),
    ],
  };
}

/** Consecutive pieces of `text`, each 100–2000 chars (log-uniform), ending at a line or word end. */
function chunks(text, rand) {
  const out = [];
  let pos = 0;
  while (pos < text.length) {
    const want = Math.round(SAMPLE_CHARS_MIN * Math.exp(rand() * Math.log(SAMPLE_CHARS_MAX / SAMPLE_CHARS_MIN)));
    let end = Math.min(text.length, pos + want);
    if (end < text.length) {
      const nl = text.indexOf('\n', end);
      const sp = text.slice(end).search(/\s/);
      if (nl >= 0 && nl - end < 120) end = nl + 1;
      else if (sp >= 0 && sp < 40) end += sp;
    }
    if (end - pos > SAMPLE_CHARS_MAX + 120) end = pos + SAMPLE_CHARS_MAX;
    // Do not split a surrogate pair.
    if (end < text.length && /[\uD800-\uDBFF]/.test(text[end - 1])) end += 1;
    const piece = text.slice(pos, end);
    if (piece.trim().length >= SAMPLE_CHARS_MIN / 2 && piece.length >= SAMPLE_CHARS_MIN) out.push(piece);
    pos = end;
  }
  return out;
}

/** Samples by kind from `byKind`, capped per kind and per file, split into two halves. */
function sample(byKind, kinds) {
  const samples = [];
  for (const kind of kinds) {
    const seen = new Set();
    let kindSamples = [];
    for (const { path, text } of byKind[kind] ?? []) {
      if (seen.has(text)) continue;
      seen.add(text);
      const perFile = TRANSLATION_KINDS.has(kind) ? SAMPLES_PER_TRANSLATION_MAX : SAMPLES_PER_FILE_MAX;
      const pieces = chunks(text, prng(fnv(path))).map((t, i) => ({ kind, source: path, id: `${path}#${i}`, text: t }));
      kindSamples.push(...bottomK(pieces, perFile, (p) => p.id));
    }
    kindSamples = bottomK(kindSamples, SAMPLES_PER_KIND_MAX, (p) => p.id);
    samples.push(...kindSamples.map((s) => ({ ...s, half: fnv(`${s.id}:half`) & 1 })));
  }
  return samples;
}

/**
 * The corpus: [{kind, source, id, text, half}], at most SAMPLES_PER_KIND_MAX samples per kind
 * and SAMPLES_PER_FILE_MAX (translations: SAMPLES_PER_TRANSLATION_MAX) from one file; half 0 is
 * the calibration half, 1 the held-out half.
 */
export function loadCorpus() {
  return sample(sources(), KINDS);
}

export const UNSEEN_KINDS = ['unseen-code', 'unseen-prose'];

/**
 * Text from sources the calibration never saw, to check the estimator generalises beyond the
 * corpus: Python's standard library and C headers (code), Perl's POD manuals (prose).
 */
export function loadUnseen() {
  const pick = (list, n) => bottomK(list, n).sort();
  const python = glob('/root/.pyenv/versions', /\/lib\/python3\.\d+\/[a-z_]+\.py$/);
  const byKind = {
    'unseen-code': files([...pick(python, 120), ...pick(glob('/usr/include', /\.h$/), 120)]),
    'unseen-prose': files(glob('/usr/share/perl', /\.pod$/)),
  };
  return sample(byKind, UNSEEN_KINDS);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // `node bench/corpus.mjs`: what the corpus holds on this machine.
  const corpus = [...loadCorpus(), ...loadUnseen()];
  for (const kind of [...KINDS, ...UNSEEN_KINDS]) {
    const s = corpus.filter((x) => x.kind === kind);
    const chars = s.reduce((n, x) => n + x.text.length, 0);
    const files = new Set(s.map((x) => x.source)).size;
    console.log(`${kind.padEnd(16)} ${String(s.length).padStart(4)} samples ${String(chars).padStart(8)} chars from ${files} files`);
  }
}
