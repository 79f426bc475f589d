// The person's conversations with the assistant. The server keeps them (each message with the
// credits it used) so that every browser of the same person lists and reads them; this browser
// keeps a copy of what it fetched, so they stay readable offline.

import { TokenCounter } from 'ai-credits';
import type { App } from './app';
import { errorCode, type ConversationMessage, type ConversationSummary } from './api';

export interface Turn {
  role: 'user' | 'assistant';
  text: string;
  at: string;
  model?: string;
  credits?: number;
  billed_to?: string;
  tokens?: number;
  /** A reply still streaming in. */
  pending?: boolean;
}

/** Conversations whose messages this browser keeps a copy of (the most recent). */
const COPIES_KEPT = 20;

interface Stored {
  /** The conversation on show. */
  current: string;
  list: ConversationSummary[];
  turns: Record<string, Turn[]>;
}

export function newConversationId(): string {
  return `c-${crypto.randomUUID()}`;
}

/** The turns of a conversation as the server returns it: the message and its reply. */
export function turnsOf(messages: ConversationMessage[]): Turn[] {
  return messages.flatMap((m) => {
    let tokens: number | undefined;
    try {
      const counter = new TokenCounter(m.model);
      counter.setText(m.message);
      tokens = counter.tokens;
      counter.free();
    } catch {
      // A model this catalogue no longer has: the message counts as no history.
    }
    return [
      { role: 'user' as const, text: m.message, at: m.at, tokens },
      {
        role: 'assistant' as const, text: m.reply, at: m.at, model: m.model, credits: m.credits,
        billed_to: m.billed_to, tokens: m.output_tokens,
      },
    ];
  });
}

export class Conversations {
  private stored: Stored;
  /** Whether the list on show came from the server in this page's life (else from the copy). */
  fresh = false;

  constructor(private readonly app: App) {
    this.stored = this.load();
  }

  private get key(): string {
    return `ai-credits-www:conversations:${this.app.session.account_id}:${this.app.session.member}`;
  }

  private load(): Stored {
    try {
      const text = localStorage.getItem(this.key);
      if (text) {
        const stored = JSON.parse(text) as Stored;
        for (const id of Object.keys(stored.turns)) stored.turns[id] = stored.turns[id].filter((t) => !t.pending);
        return stored;
      }
    } catch {
      // An unreadable copy is started over: the server has the conversations.
    }
    return { current: newConversationId(), list: [], turns: {} };
  }

  private save(): void {
    const keep = new Set([this.stored.current, ...this.stored.list.slice(0, COPIES_KEPT).map((c) => c.id)]);
    for (const id of Object.keys(this.stored.turns)) if (!keep.has(id)) delete this.stored.turns[id];
    try {
      localStorage.setItem(this.key, JSON.stringify(this.stored));
    } catch {
      // A full or disabled localStorage only costs the offline copy.
    }
  }

  get current(): string {
    return this.stored.current;
  }

  get list(): ConversationSummary[] {
    return this.stored.list;
  }

  /** The turns of the conversation on show, as last known. */
  turns(): Turn[] {
    return this.stored.turns[this.stored.current] ?? [];
  }

  /** Keeps the turns of the conversation on show (after a message was sent or failed). */
  keep(turns: Turn[]): void {
    this.stored.turns[this.stored.current] = turns.filter((t) => !t.pending);
    this.save();
  }

  /** Reads the list from the server; offline, the copy stays. */
  async refresh(): Promise<void> {
    try {
      this.stored.list = (await this.app.api.conversations()).conversations;
      this.fresh = true;
      this.save();
    } catch (e) {
      if (errorCode(e) !== 'offline') throw e;
    }
  }

  /** Shows conversation `id`, read from the server (offline: from the copy, if there is one). */
  async open(id: string): Promise<void> {
    this.stored.current = id;
    try {
      this.stored.turns[id] = turnsOf((await this.app.api.conversation(id)).messages);
    } catch (e) {
      // Offline, the copy is read; a conversation deleted elsewhere is empty.
      if (errorCode(e) !== 'offline' && errorCode(e) !== 'not_found') throw e;
    }
    this.save();
  }

  /** Starts a new conversation; the one on show stays in the list. */
  start(): void {
    this.stored.current = newConversationId();
    this.save();
  }

  /** Deletes one of the person's conversations on the server, then here. */
  async remove(id: string): Promise<void> {
    await this.app.api.deleteConversation(id);
    this.stored.list = this.stored.list.filter((c) => c.id !== id);
    delete this.stored.turns[id];
    if (this.stored.current === id) this.stored.current = newConversationId();
    this.save();
  }
}
