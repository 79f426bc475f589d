// A strict TypeScript consumer of the package: type-checked with `tsc --strict --noEmit` in the
// test suite, so the generated declarations stay precise and usable (never executed).
import init, {
  Catalogue, Ledger, runScenario,
  type AiCreditsError, type Balance, type Draw, type LedgerEvent, type Model, type Preview,
  type ScenarioResult, type KeyStates,
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
    const credits: number | undefined = outcome.entry?.credits;
    void credits;
  } catch (e) {
    const code: string = (e as AiCreditsError).code;
    void code;
  }
  const preview: Preview = ledger.preview({ kind: 'usage', model: 'gpt-5', input_tokens: 900, output_tokens: 400 });
  const fromPacks = preview.draws
    .filter((d: Draw): d is Extract<Draw, { source: 'pack' }> => d.source === 'pack')
    .map((d) => d.pack);
  const balance: Balance = ledger.balance();
  const result: ScenarioResult = runScenario({ account: { plan: 'pro', cycle_anchor: balance.cycle.start }, query_at: balance.at });
  const byFeature: number = result.usage_by_feature['assistant'] ?? 0;
  return fromPacks.length + byFeature + (preview.allowed ? preview.available_after : 0) + ledger.entryCount;
}
