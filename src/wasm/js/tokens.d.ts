// Types of `ai-credits/tokens`: the estimator's glue (generated) and the error class.
export * from './ai_credits_tokens.js';
export { default, initSync } from './ai_credits_tokens.js';
export { AiCreditsError, isAiCreditsError, textEdit } from './index.js';
