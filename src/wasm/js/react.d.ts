// Types of `ai-credits/react`.
import type { ReactNode } from 'react';
import type { Client, ClientOptions, Catalogue, Ledger, TokenCounter, AccountInit, LedgerEvent, ApplyOutcome,
  MessageEstimate, SyncStatus, AiCreditsError } from 'ai-credits';

export interface ClientState {
  /** Null while connecting, after an error, and after unmount. */
  client: Client | null;
  error: AiCreditsError | null;
  loading: boolean;
  /** Grows whenever the client's state may have changed (a connect, a sync). */
  version: number;
  /** Syncs now; null when not connected. */
  refresh(): Promise<SyncStatus | null>;
}
export declare function useClient(options: ClientOptions, settings?: { syncEveryMs?: number }): ClientState;
export declare function AiCreditsProvider(props: { options: ClientOptions; syncEveryMs?: number; children?: ReactNode }): ReactNode;
export declare function useAiCredits(): ClientState;
export declare function useLedger(account: AccountInit, settings?: { events?: LedgerEvent[]; catalogue?: Catalogue }): {
  /** Null on the first render. */
  ledger: Ledger | null;
  apply(event: LedgerEvent): ApplyOutcome;
  version: number;
};
export declare function useTokenCounter(model: string, initialText?: string): {
  tokens: number; low: number; high: number;
  /** Null on the first render; a message request's `text_tokens` as it is. */
  counter: TokenCounter | null;
  value: string;
  setValue(text: string): void;
  /** Spread on a `<textarea>`: `value` and `onChange`. */
  bind: { value: string; onChange(event: { target: { value: string } }): void };
};
export declare function useMessageEstimate(
  text: string | TokenCounter | null,
  model: string,
  settings?: { source?: Ledger | Client | null; request?: { history_tokens?: number; feature?: string; member?: string } },
): MessageEstimate | null;
