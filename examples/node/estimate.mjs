// A Node script on the package: estimates a message on every model an account without own keys
// may use, offline. Run: node examples/node/estimate.mjs "How many bookings today?"
import { Catalogue, Ledger } from 'ai-credits';

const text = process.argv[2] ?? 'How many bookings today?';
const catalogue = Catalogue.default();
const ledger = new Ledger({ plan: 'growth', cycle_anchor: new Date().toISOString() }, catalogue);
// Without own keys, the models on credits; with an xAI key connected Grok would join them.
for (const model of ledger.availableModels()) {
  const estimate = ledger.estimateMessage({ model: model.id, text });
  console.log(`${model.name}: ${estimate.credits.low}–${estimate.credits.high} credits (${estimate.billed_to})`);
}
ledger.free();
catalogue.free();
