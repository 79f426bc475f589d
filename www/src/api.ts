// The backend calls the package's `Client` does not make: the session, provider keys, the
// audit log, and the demo's stand-in assistant. Every failure becomes an `ApiError` with the
// server's stable `code` (or `offline` when the server could not be reached).

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
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError('offline', 'The server cannot be reached.');
  }
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (!response.ok) {
    const err = (json ?? {}) as { code?: string; message?: string };
    throw new ApiError(err.code ?? 'server_error', err.message ?? `The server answered ${response.status}.`, response.status);
  }
  return json as T;
}

/**
 * The signed-in session: one handed over in sessionStorage by a host page, else a demo
 * session from a server started with `--demo` (the demo's owner, an administrator).
 */
export async function signIn(): Promise<Session> {
  const given = sessionStorage.getItem(SESSION_STORAGE_KEY);
  if (given) return JSON.parse(given) as Session;
  return request<Session>('POST', '/v1/demo/session', null, {});
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

export interface AssistantReply {
  reply: string;
  usage: { input_tokens: number; output_tokens: number };
  duplicate: boolean;
  entry?: Entry;
}

export interface AssistantRequest {
  model: string; message: string; hold?: string; id: string; feature: string; history_tokens: number;
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

  assistant(body: AssistantRequest): Promise<AssistantReply> {
    return request('POST', this.path('/assistant'), this.session.token, body);
  }
}
