// A strict TypeScript consumer of `ai-credits/react` (type-checked, never executed).
import { createElement as h, StrictMode, type ReactNode } from 'react';
import { AiCreditsProvider, useAiCredits, useLedger, useMessageEstimate, useTokenCounter } from 'ai-credits/react';
import type { MessageEstimate } from 'ai-credits';

export function Composer(): ReactNode {
  const { client, error, loading } = useAiCredits();
  const field = useTokenCounter('gpt-5');
  const estimate: MessageEstimate | null = useMessageEstimate(field.counter, 'gpt-5', { request: { feature: 'assistant' } });
  const { ledger, apply } = useLedger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
  const offline = useMessageEstimate('How many bookings today?', 'gpt-5', { source: ledger });
  if (ledger) void apply({ at: '2026-01-02T00:00:00Z', kind: 'debit', id: 'd1', credits: 5 });
  if (error) return h('p', null, error.code);
  if (loading || !client) return null;
  return h('div', null,
    h('textarea', field.bind),
    h('p', null, `${estimate?.credits.high ?? 0} / ${offline?.credits.high ?? 0} / ${client.balance().available}`));
}

export const app: ReactNode = h(StrictMode, null,
  h(AiCreditsProvider, { options: { base_url: '', account_id: 'acc_1', token: 't' }, syncEveryMs: 0 }, h(Composer)));
