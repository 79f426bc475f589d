// `ai-credits/tokens`: the token estimator alone, in a WebAssembly module of its own (the
// crate built with its `estimator` feature), for pages that only count what is typed. The
// same functions and `TokenCounter` as the main entry, with the same guards (guard.js).
import * as glue from './ai_credits_tokens.js';
import { guard } from './guard.js';

export { AiCreditsError, isAiCreditsError } from './guard.js';

const g = guard(glue);

/** Loads the estimator's WASM module (once); everything else waits for it. */
export default function init(options) {
  return g.init(options);
}

/** Loads it synchronously from its bytes or a compiled `WebAssembly.Module`. */
export function initSync(options) {
  return g.initSync(options);
}

export function estimateTokens(text, model) {
  if (!g.isReady()) g.assertReady('estimateTokens');
  return glue.estimateTokens(text, model);
}
export function estimateTokenRange(text, model) {
  if (!g.isReady()) g.assertReady('estimateTokenRange');
  return glue.estimateTokenRange(text, model);
}

export const TokenCounter = g.wrapClass(glue.TokenCounter);
