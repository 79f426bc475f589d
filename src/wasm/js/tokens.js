// `ai-credits/tokens`: the token estimator alone, in a WebAssembly module of its own (the
// crate built with its `estimator` feature), for pages that only count what is typed. The
// same functions and `TokenCounter` as the main entry, with the same guards (guard.js).
import * as glue from './ai_credits_tokens.js';
import { guard } from './guard.js';

export { AiCreditsError, isAiCreditsError } from './guard.js';
export { textEdit } from './edit.js';

const g = guard(glue);

export default g.init;
export const { initSync } = g;
export const estimateTokens = g.checked('estimateTokens', glue.estimateTokens);
export const estimateTokenRange = g.checked('estimateTokenRange', glue.estimateTokenRange);

export const TokenCounter = g.wrapClass(glue.TokenCounter);
