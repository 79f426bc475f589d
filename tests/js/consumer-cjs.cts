// A strict TypeScript consumer in CommonJS (`require`): the package's .d.cts types
// (type-checked, never executed).
import { Ledger, estimateTokens, isAiCreditsError, type Balance } from 'ai-credits';

export function available(): number {
  const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
  try {
    const balance: Balance = ledger.balance();
    return balance.available + estimateTokens('hi', 'gpt-5');
  } catch (e) {
    return isAiCreditsError(e) ? -1 : -2;
  } finally {
    ledger.free();
  }
}
