// The backend calls the package's `Client` does not make: the session, provider keys, the
// audit log, and the demo's assistant backend (its reply streamed). Every failure becomes an
// `ApiError` with the server's stable `code` (or `offline` when the server could not be reached).

import type { Entry } from 'ai-credits';

export interface Session { account_id: string; token: string; member: string; role: string }

export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status = 0) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The `code` of any error the app sees (`ApiError`s and the package's `AiCreditsError`s). */
export function errorCode(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') return e.code;
  return 'unexpected';
}

export function errorMessage(e: unknown): string {
  if (errorCode(e) === 'offline') return 'The server cannot be reached right now; try again when you are back online.';
  return e instanceof Error ? e.message : String(e);
}

/** Where the page keeps a session handed to it by a host page (or a test). */
export const SESSION_STORAGE_KEY = 'ai-credits:session';

async function request<T>(method: string, path: string, token: string | null, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await send(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    return null as T;
  }
}

async function send(path: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(path, init);
  } catch {
    throw new ApiError('offline', 'The server cannot be reached.');
  }
}

/** The server's `{code, message}` of a failed answer as an `ApiError`. */
async function failure(response: Response): Promise<ApiError> {
  let err: { code?: string; message?: string } = {};
  try {
    err = (JSON.parse(await response.text()) ?? {}) as typeof err;
  } catch {
    // Not JSON: the status says what there is to say.
  }
  return new ApiError(err.code ?? 'server_error', err.message ?? `The server answered ${response.status}.`, response.status);
}

/**
 * Reads the assistant's server-sent events: `delta` (more of the reply), then `done` (the
 * whole reply and the entry it made) or `error`. A stream that breaks off is `offline`: the
 * message may have been answered and charged, and sending it again with the same id is safe.
 */
async function readReply(response: Response, onText: (soFar: string) => void): Promise<AssistantReply> {
  if (!response.body) throw new ApiError('offline', 'The reply did not arrive.');
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (data === undefined) continue;
        const json = JSON.parse(data) as { text?: string; code?: string; message?: string };
        if (event === 'delta') {
          text += json.text ?? '';
          onText(text);
        } else if (event === 'done') {
          return json as unknown as AssistantReply;
        } else if (event === 'error') {
          throw new ApiError(json.code ?? 'server_error', json.message ?? 'The reply failed.', 502);
        }
      }
    }
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw new ApiError('offline', 'The connection was lost while the reply was arriving.');
  } finally {
    reader.releaseLock();
  }
  throw new ApiError('offline', 'The reply stopped before it was complete.');
}

/**
 * The signed-in session: one kept in sessionStorage (handed over by a host page, or from an
 * earlier load of this tab), else a demo session from a server started with `--demo` (the
 * demo's owner, an administrator).
 */
export async function signIn(): Promise<Session> {
  const given = sessionStorage.getItem(SESSION_STORAGE_KEY);
  if (given) return JSON.parse(given) as Session;
  const session = await request<Session>('POST', '/v1/demo/session', null, {});
  // Kept for this tab only (never in localStorage), so a reload opens the stored copy offline.
  sessionStorage.setItem(SESSION_STORAGE_KEY, JSON.stringify(session));
  return session;
}

/** Forgets a session the server no longer knows (a demo database started over). */
export function signOut(): void {
  sessionStorage.removeItem(SESSION_STORAGE_KEY);
}

export interface KeyView {
  provider: string;
  state: 'connected' | 'rejected' | 'invalid';
  last4: string;
  tested_at: string;
  reason?: string;
  detail?: string;
}

export interface AuditEntry {
  at: string; member: string; role: string; action: string; provider: string | null; detail: string | null;
}

/** One paid purchase, as its receipt line shows it. */
export interface Receipt {
  purchase: string; pack: string; credits: number | null; amount_cents: number; member: string;
  charged_at: string; processor_charge_id: string;
}

/** What a purchase is charged to, as the payment processor names it. */
export interface PaymentMethod { brand: string; last4: string; label: string }

/** A conversation as the server lists it (the person's own). */
export interface ConversationSummary {
  id: string; title: string; started_at: string; updated_at: string; turns: number; credits: number;
}

/** One call of a conversation: the person's message, the reply, and what it used. */
export interface ConversationMessage {
  entry: string; at: string; model: string; feature: string | null; message: string; reply: string;
  input_tokens: number; output_tokens: number; credits: number; billed_to: 'credits' | 'own_key'; estimated: boolean;
}

export interface ConversationRead extends ConversationSummary {
  messages: ConversationMessage[];
}

export interface AssistantReply {
  reply: string;
  conversation: string;
  /** The message as its conversation keeps it. */
  turn: ConversationMessage;
  usage: { input_tokens: number; output_tokens: number };
  duplicate: boolean;
  entry: Entry | null;
}

export interface AssistantRequest {
  model: string; message: string; id: string; feature: string; conversation: string;
  /** The catalogue's quick action the message is: sent with its own instructions and answer limit. */
  quick_action?: string;
  /** Earlier turns sent with the message, oldest first. */
  history: { role: 'user' | 'assistant'; text: string }[];
}

/** The account's endpoints, with the session's token. */
export class Api {
  constructor(private readonly session: Session) {}

  private path(rest: string): string {
    return `/v1/accounts/${encodeURIComponent(this.session.account_id)}${rest}`;
  }

  keys(): Promise<{ keys: KeyView[] }> {
    return request('GET', this.path('/keys'), this.session.token);
  }

  saveKeys(keys: Record<string, string>): Promise<{ keys: KeyView[] }> {
    return request('PUT', this.path('/keys'), this.session.token, { keys });
  }

  removeKey(provider: string): Promise<{ selected_model: string; removed: boolean }> {
    return request('DELETE', this.path(`/keys/${encodeURIComponent(provider)}`), this.session.token);
  }

  audit(): Promise<{ entries: AuditEntry[] }> {
    return request('GET', this.path('/audit'), this.session.token);
  }

  receipts(): Promise<{ receipts: Receipt[] }> {
    return request('GET', this.path('/receipts'), this.session.token);
  }

  paymentMethod(): Promise<{ payment_method: PaymentMethod | null }> {
    return request('GET', this.path('/payment-method'), this.session.token);
  }

  conversations(): Promise<{ conversations: ConversationSummary[] }> {
    return request('GET', this.path('/conversations'), this.session.token);
  }

  conversation(id: string): Promise<ConversationRead> {
    return request('GET', this.path(`/conversations/${encodeURIComponent(id)}`), this.session.token);
  }

  deleteConversation(id: string): Promise<null> {
    return request('DELETE', this.path(`/conversations/${encodeURIComponent(id)}`), this.session.token);
  }

  /**
   * Sends a message to the assistant backend, which calls the model through the gateway;
   * `onText` sees the reply grow as it streams in.
   */
  async assistant(body: AssistantRequest, onText: (soFar: string) => void): Promise<AssistantReply> {
    const response = await send(this.path('/assistant'), {
      method: 'POST',
      headers: { authorization: `Bearer ${this.session.token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw await failure(response);
    return readReply(response, onText);
  }
}
