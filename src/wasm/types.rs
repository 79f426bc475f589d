//! The TypeScript declarations of every domain type, written once and used by every signature
//! (`unchecked_param_type` / `unchecked_return_type`), so the generated `.d.ts` has no `any`.

use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const DOMAIN_TYPES: &str = r#"
/** An instant, RFC 3339 (output is always UTC with `Z`). */
export type Instant = string;
/** Stable codes of refused events (SPEC §3 rule 12). */
export type RejectCode =
  | "credits_exhausted" | "model_unavailable" | "unknown_model" | "unknown_provider"
  | "unknown_pack" | "unknown_plan" | "idempotency_conflict" | "hold_not_found"
  | "hold_closed" | "insufficient_credits" | "invalid_event";
/** Every `code` an error thrown by this package can carry. */
export type ErrorCode =
  | RejectCode
  | "catalogue_invalid_json" | "catalogue_unknown_field" | "catalogue_unsupported_version"
  | "catalogue_duplicate_id" | "catalogue_negative_rate" | "catalogue_unknown_provider"
  | "catalogue_unknown_default_model" | "catalogue_default_model_not_on_credits"
  | "catalogue_invalid_value" | "catalogue_too_large"
  | "scenario_invalid_json" | "scenario_invalid" | "scenario_bad_query_at"
  | "checkpoint_invalid" | "checkpoint_catalogue_mismatch"
  | "invalid_json" | "invalid_argument" | "value_not_representable" | "unknown_quick_action"
  | "not_initialized" | "freed";

export type KeyState = "none" | "connected" | "invalid";
/** Key states by provider id; providers without a key may be left out. */
export type KeyStates = { [provider: string]: KeyState };
export type BilledTo = "credits" | "own_key";
export type CreditTier = "lowest" | "lower" | "higher";

export interface Provider { id: string; name: string; product: string; key_url: string; }
export interface Rates { input: number; cached_input: number | null; cache_write: number | null; output: number; }
export interface PriceTier {
  above_prompt_tokens: number;
  input: number | null; cached_input: number | null; cache_write: number | null; output: number | null;
}
export type TokenizerFamily = "o200k" | "anthropic" | "moonshot" | "xai" | "google";
export interface Model {
  id: string; tokenizer: TokenizerFamily; name: string; provider: string; on_credits: boolean; tier: CreditTier | null;
  best_for: string; context_tokens: number;
  /** Millicredits per token. */
  rates: Rates;
  price_tiers: PriceTier[];
}
export interface Plan { id: string; name: string; monthly_credits: number; own_keys: boolean; packs: boolean; }
export interface PackOffer { id: string; credits: number; price_cents: number; valid_months: number; }

export interface AccountInit { plan: string; cycle_anchor: Instant; }
export interface TokenCounts {
  input_tokens?: number | null; cached_input_tokens?: number | null;
  cache_write_tokens?: number | null; output_tokens?: number | null;
  /** The counts are an estimate, not the provider's report (a call that reported no usage). */
  estimated?: boolean;
}
export interface Attribution { feature?: string | null; member?: string | null; }
export type LedgerEvent =
  | ({ at: Instant; kind: "usage"; id: string; model: string } & TokenCounts & Attribution)
  | ({ at: Instant; kind: "debit"; id: string; credits: number } & Attribution)
  | ({ at: Instant; kind: "hold"; id: string; credits: number; expires_at: Instant } & Attribution)
  | ({ at: Instant; kind: "commit"; id: string; hold: string; model: string } & TokenCounts & Attribution)
  | { at: Instant; kind: "release"; id: string; hold: string }
  | { at: Instant; kind: "purchase_pack"; id: string; pack: string }
  | { at: Instant; kind: "connect_key" | "key_invalid" | "remove_key"; provider: string; id?: string }
  | { at: Instant; kind: "select_model"; model: string; id?: string }
  | { at: Instant; kind: "change_plan"; plan: string; id?: string };
export interface Scenario { description?: string; account: AccountInit; events?: LedgerEvent[]; query_at: Instant; }

export type Draw =
  | { source: "monthly"; credits: number }
  | { source: "pack"; pack: string; credits: number };
export interface Entry {
  id: string; at: Instant; kind: "usage" | "debit" | "commit"; model?: string;
  billed_to: BilledTo; credits: number; unpaid: number; draws: Draw[];
  hold?: string; feature?: string; member?: string;
  input_tokens?: number; cached_input_tokens?: number; cache_write_tokens?: number; output_tokens?: number;
  /** Its token counts are the core's estimate: the provider reported no usage (SPEC §5.4). */
  estimated?: true;
  /** What it would cost on credits, also when billed to an own key. */
  would_be_credits: number;
  /** The would-be AI cost in millionths of a US dollar. */
  cost_usd_micros: number;
}
export interface Cycle { start: Instant; end: Instant; }
export interface Monthly { allowance: number; used: number; remaining: number; }
export interface Balance {
  at: Instant; plan: string; cycle: Cycle; monthly: Monthly; purchased_remaining: number;
  held: number; available: number; can_send: boolean; selected_model: string;
}
export interface PackReport {
  id: string; pack: string; credits: number; purchased_at: Instant; expires_at: Instant;
  remaining: number; expired: number; price_cents: number;
}
export interface Totals { entries: number; credits: number; unpaid: number; tokens: number; cost_usd_micros: number; }
export interface UsageBreakdown {
  by_feature: { [feature: string]: Totals };
  by_member: { [member: string]: Totals };
  by_model: { [model: string]: Totals };
}
export interface Rejected { id: string; code: RejectCode; message: string; }
export interface ScenarioResult extends Balance {
  packs: PackReport[]; keys: KeyStates; entries: Entry[]; rejected: Rejected[]; duplicates: string[];
  usage_by_feature: { [feature: string]: number }; usage_by_member: { [member: string]: number };
  breakdown: { credits: UsageBreakdown; own_key: UsageBreakdown };
}
/** `entry` is null for an event that makes none (a hold, a purchase, a key change…). */
export interface ApplyOutcome { duplicate: boolean; entry: Entry | null; }
export type ChargeRequest =
  | ({ kind: "usage"; model: string } & TokenCounts)
  | { kind: "debit"; credits: number };
export interface Preview {
  billed_to: BilledTo; allowed: boolean; rejection: { code: RejectCode; message: string } | null;
  credits: number; would_be_credits: number; cost_usd_micros: number; unpaid: number; draws: Draw[];
  monthly_remaining_after: number; purchased_remaining_after: number; available_after: number;
}
/** A low / expected / high range. */
export interface Range { low: number; expected: number; high: number; }
export interface QuickAction {
  id: string; label: string; prompt: string; feature: string; input_tokens: number; output_tokens: number;
}
/**
 * A message about to be sent: its `text`, or `text_tokens` from a `TokenCounter` (the tokens
 * come from `text_tokens` when both are given; the `text`, when given, tells a task from a
 * question).
 */
export interface MessageRequest {
  model: string; text?: string;
  /** A `TokenCounter` as it is, or its `{tokens, low, high}`. */
  text_tokens?: TokenEstimate | TokenCounter;
  history_tokens?: number; feature?: string; member?: string;
}
export interface Calibration {
  source: "feature_model" | "feature" | "model" | "catalogue"; samples: number; output_tokens: Range;
}
export interface MessageEstimate {
  model: string; billed_to: BilledTo; allowed: boolean; rejection: { code: RejectCode; message: string } | null;
  agent: boolean;
  /** The text reads as a task (a change, or several items or days): estimated in task rounds. */
  task: boolean;
  rounds: Range; input_tokens: Range; output_tokens: Range;
  /** Credits it will cost (0 when billed to an own key). */
  credits: Range;
  would_be_credits: Range;
  /** Would-be AI cost in millionths of a US dollar. */
  cost_usd_micros: Range;
  calibration: Calibration;
  available: number; available_after_expected: number; available_after_worst: number;
  worst_exceeds_available: boolean; draws_expected: Draw[]; draws_worst: Draw[];
}
export interface BurnRate { window_start: Instant; window_end: Instant; credits: number; credits_per_day: number; }
export interface Runway { exhausted_at: Instant | null; refills_at: Instant | null; breakage: number; horizon: Instant; }
export interface PackWhatIf { pack: string; credits: number; price_cents: number; runway: Runway; breakage: number; }
export interface Forecast { burn: BurnRate; runway: Runway; what_if: PackWhatIf[]; }
export type AlertKind = 'monthly_used' | 'running_low' | 'pack_expiring';
/** An alert that holds (see `Ledger.alerts`): `id` is the same for the same cycle's (or pack's) alert at every instant. */
export interface Alert {
  id: string; kind: AlertKind;
  /** A percentage (`monthly_used`), hours (`running_low`) or days (`pack_expiring`). */
  threshold: number; cycle_start: Instant;
  /** The pack's purchase id (`pack_expiring`). */
  pack?: string;
  /** Monthly credits used, credits available, or the pack's credits left. */
  credits: number;
  /** For a person, in the host app's words. */
  message: string;
}
/** Usage totals of one feature, member or model. */
export interface Totals { entries: number; credits: number; unpaid: number; tokens: number; cost_usd_micros: number; }
export interface UsageTotals { by_feature: { [id: string]: Totals }; by_member: { [id: string]: Totals }; by_model: { [id: string]: Totals }; }
/**
 * A ledger's state from its latest event on (SPEC §5.3), in a document that does not grow with
 * its history: restore it with `Ledger.fromCheckpoint`. Its `catalogue` is the content hash
 * of the catalogue it was made with (`Catalogue.contentHash()`, `/v1/catalogue`'s ETag).
 */
export interface LedgerCheckpoint {
  format: "ai-credits/checkpoint"; version: 1; catalogue: string; account: AccountInit;
  /** How many accepted events it covers. */
  sequence: number;
  now: Instant | null; first_event_at: Instant | null; plan: string; selected_model: string; keys: KeyStates;
  cycle: { index: number; monthly_used: number;
    usage: { usage_by_feature: { [id: string]: number }; usage_by_member: { [id: string]: number };
             breakdown: { credits: UsageTotals; own_key: UsageTotals } } };
  packs: { id: string; pack: string; credits: number; price_cents: number; purchased_at: Instant; expires_at: Instant; remaining: number }[];
  expired_packs: { count: number; credits: number; expired: number };
  holds: { id: string; credits: number; expires_at: Instant; feature?: string; member?: string; lapsed?: boolean }[];
  samples: { taken: number; by_model: { [id: string]: { last: number; output_tokens: number[] } };
             by_feature: { [id: string]: { last: number; output_tokens: number[] } };
             by_feature_model: { [id: string]: { last: number; output_tokens: number[] } } };
  /** Credits charged per UTC hour: [hours since the epoch, credits]. */
  burn: [number, number][];
}
/** A ledger's account, latest time and accepted events; for a ledger restored from a checkpoint, that checkpoint. */
export type LedgerSnapshot = {
  format: "ai-credits/ledger-snapshot"; version: 1; catalogue_version: number;
  account: AccountInit; now: Instant | null; events: LedgerEvent[];
} | { format: "ai-credits/ledger-snapshot"; version: 1; checkpoint: LedgerCheckpoint; events: [] };
"#;
