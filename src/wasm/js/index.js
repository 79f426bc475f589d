// The package's entry for browsers, bundlers and workers (copied into pkg/ by
// scripts/build-pkg.sh). It is the glue of wasm-bindgen with what a frontend needs around it:
// the error class and its guard, `not_initialized` and `freed` (guard.js), and a `Catalogue`
// handed to a `Ledger` that stays the caller's (the glue would take it over).
import * as glue from './ai_credits.js';
import { AiCreditsError, guard } from './guard.js';

export { AiCreditsError, isAiCreditsError } from './guard.js';
export { textEdit } from './edit.js';

const g = guard(glue);

export default g.init;
export const { initSync } = g;
export const estimateTokens = g.checked('estimateTokens', glue.estimateTokens);
export const estimateTokenRange = g.checked('estimateTokenRange', glue.estimateTokenRange);
export const runScenario = g.checked('runScenario', glue.runScenario);
export const runScenarioJson = g.checked('runScenarioJson', glue.runScenarioJson);

/**
 * The glue takes a `Catalogue` argument over (it is freed when passed); a clone is passed
 * instead, so the caller's stays usable (and is still the caller's to free).
 */
function keepCatalogues(args) {
  return args.map((a) => {
    if (!(a instanceof glue.Catalogue)) return a;
    if (!a.__wbg_ptr) throw new AiCreditsError('freed', 'this Catalogue was freed (free() or the end of a `using` block); make a new one');
    return a.clone();
  });
}

export const Catalogue = g.wrapClass(glue.Catalogue);
export const Client = g.wrapClass(glue.Client);
export const Ledger = g.wrapClass(glue.Ledger, keepCatalogues);
export const TokenCounter = g.wrapClass(glue.TokenCounter);
