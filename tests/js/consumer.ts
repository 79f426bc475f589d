// A strict TypeScript consumer of the package: type-checked with `tsc --strict --noEmit` in the
// test suite, so the generated declarations stay precise and usable (never executed).
import init, {
  Catalogue, Ledger, TokenCounter, runScenario, AiCreditsError, isAiCreditsError,
  type Balance, type Draw, type LedgerEvent, type Model, type Preview,
  type ScenarioResult, type KeyStates, type MessageEstimate, type Forecast, type QuickAction,
} from 'ai-credits';

export async function demo(): Promise<number> {
  await init();
  const catalogue: Catalogue = Catalogue.default();
  const keys: KeyStates = { xai: 'connected' };
  const models: Model[] = catalogue.availableModels(keys);
  const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-31T09:00:00Z' }, catalogue);
  const event: LedgerEvent = {
    at: '2026-02-03T10:00:00Z', kind: 'usage', id: 'u1', model: models[0].id,
    input_tokens: 1200, output_tokens: 300, feature: 'assistant',
  };
  try {
    const outcome = ledger.apply(event);
    const credits: number | null = outcome.entry === null ? null : outcome.entry.credits;
    void credits;
  } catch (e) {
    // A real class: `instanceof` narrows, and so does the guard.
    if (e instanceof AiCreditsError && e.code === 'freed') return -2;
    if (isAiCreditsError(e)) {
      const code: string = e.code;
      void code;
    }
  }
  // A TokenCounter is a message request's text_tokens as it is.
  const counter = new TokenCounter('gpt-5');
  counter.setText('How many bookings today?');
  void ledger.estimateMessage({ model: 'gpt-5', text_tokens: counter });
  const preview: Preview = ledger.preview({ kind: 'usage', model: 'gpt-5', input_tokens: 900, output_tokens: 400 });
  const fromPacks = preview.draws
    .filter((d: Draw): d is Extract<Draw, { source: 'pack' }> => d.source === 'pack')
    .map((d) => d.pack);
  const balance: Balance = ledger.balance();
  const result: ScenarioResult = runScenario({ account: { plan: 'pro', cycle_anchor: balance.cycle.start }, query_at: balance.at });
  const byFeature: number = result.usage_by_feature['assistant'] ?? 0;
  const estimate: MessageEstimate = ledger.estimateMessage({ model: 'gpt-5', text: 'How many bookings today?', feature: 'assistant' });
  const forecast: Forecast = ledger.forecast(undefined, 14);
  const actions: QuickAction[] = catalogue.quickActions();
  const runsOut: string | null = forecast.runway.exhausted_at;
  void runsOut;
  return estimate.credits.high + actions.length + forecast.what_if.length + fromPacks.length + byFeature + (preview.allowed ? preview.available_after : 0) + ledger.entryCount;
}

// The estimator alone: the same counter and functions, typed.
import initTokens, { TokenCounter as Counter, estimateTokenRange, type TokenEstimate } from 'ai-credits/tokens';

export async function countOnly(text: string): Promise<number> {
  await initTokens();
  const counter = new Counter('gpt-5');
  counter.setText(text);
  const range: TokenEstimate = estimateTokenRange(text, 'gpt-5');
  const tokens = counter.tokens + range.high;
  counter.free();
  return tokens;
}

// The sync client: async exports typed as precise promises, its status and its error codes.
import { Client, type ClientError, type ClientStatus, type SyncStatus, type ApplyOutcome } from 'ai-credits';

export async function syncDemo(token: string): Promise<number> {
  const client: Client = await Client.connect({ base_url: '', account_id: 'acc_1', token });
  const held: Promise<ApplyOutcome> = client.hold({ credits: 5000, expires_in_ms: 60_000, feature: 'assistant' });
  const pending: number = client.status.pending_holds;
  try {
    await held;
    await client.send({ kind: 'usage', model: 'gpt-5', input_tokens: 900, output_tokens: 400 });
    await client.release('h1');
  } catch (e) {
    const code: ClientError['code'] = (e as ClientError).code;
    if (code === 'offline') return -1;
  }
  const synced: SyncStatus = await client.sync();
  const status: ClientStatus = client.status;
  const available: number = client.balance().available - client.preview({ kind: 'debit', credits: 10 }).credits;
  const estimate = client.estimateMessage({ model: 'gpt-5', text: 'hi' });
  return pending + synced.new_events + status.stale_ms + available + estimate.credits.high + client.availableModels().length
    + client.forecast().what_if.length + client.report().entries.length + Object.keys(client.keys()).length + client.entries().length;
}
