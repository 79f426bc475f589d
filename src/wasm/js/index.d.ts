// The package's types: the WASM glue's (generated, no `any`) and the entry's own.
import type { ClientErrorCode } from './ai_credits.js';

export * from './ai_credits.js';
export { default, initSync } from './ai_credits.js';

/**
 * Every error this package throws: an `Error` with a stable snake_case `code` (the core's,
 * the server's through `Client`, `offline`, `not_initialized`, `freed`…).
 */
export declare class AiCreditsError extends Error {
  constructor(code: ClientErrorCode, message: string);
  readonly name: 'AiCreditsError';
  readonly code: ClientErrorCode;
}

/** Whether `e` is one of this package's errors (also one made by another copy of it). */
export declare function isAiCreditsError(e: unknown): e is AiCreditsError;

/** The edit that turns `before` into `after` as one splice, never splitting a surrogate pair: what a text field's change hands `TokenCounter.splice`. */
export declare function textEdit(before: string, after: string): { start: number; deleteCount: number; inserted: string };
