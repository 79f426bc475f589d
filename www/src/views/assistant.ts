// The assistant: the person's conversations (kept by the server, listed and readable from
// any of their browsers, and offline from this one's copy), quick actions and a composer
// whose estimate follows every keystroke (a `TokenCounter` fed each edit, then `client.estimateMessage`), and sending
// through the real path: the host app's backend (the demo's) calls the model through the
// gateway, which holds the worst case and charges what the provider reports; the reply streams
// into the conversation as it arrives, and the copy syncs.

import { TokenCounter, textEdit, type Balance, type MessageEstimate } from 'ai-credits';
import type { App } from '../app';
import { errorCode, errorMessage } from '../api';
import { Conversations, type Turn } from '../conversations';
import { h, mount } from '../dom';
import * as fmt from '../format';
import { usagePanel } from './usage-panel';

/** Longest message accepted by the assistant backend. */
const MESSAGE_CHARS_MAX = 32_000;
/** Most earlier turns sent with a message, and most of their characters. */
const CONTEXT_TURNS_MAX = 50;
const CONTEXT_CHARS_MAX = 24_000;

/** The edit that turns `before` into `after`: one splice (the package's `textEdit`). */
export const diff = textEdit;

function newId(prefix: string): string {
  return `${prefix}-${crypto.randomUUID()}`;
}

export function assistantView(app: App): HTMLElement {
  const conversations = new Conversations(app);
  let turns = conversations.turns();
  let counter: TokenCounter | null = null;
  let counterModel = '';
  let typed = '';
  /** The feature the message is billed under: a quick action's, else the assistant's. */
  let feature = 'assistant';
  let sending = false;
  let notice: { text: string; tone: 'error' | 'info' } | null = null;
  /**
   * A send whose answer never came (the network failed after the request left): sending the
   * same text again reuses its id, so it is charged at most once.
   */
  let unanswered: { text: string; model: string; messageId: string } | null = null;

  const conversation = h('ol', { class: 'conversation', 'aria-label': 'Conversation', 'aria-live': 'polite', tabindex: 0 });
  const banner = h('div', { class: 'banner-slot' });
  const textarea = h('textarea', {
    id: 'message', name: 'message', rows: 3, maxlength: MESSAGE_CHARS_MAX,
    placeholder: 'Ask about bookings, customers, products…', 'aria-describedby': 'estimate',
  });
  const estimateLine = h('div', { id: 'estimate', class: 'estimate', 'aria-live': 'polite', 'data-testid': 'estimate' });
  const sendButton = h('button', { type: 'submit', class: 'primary' }, 'Send');
  const modelLine = h('span', { class: 'model-line' });
  const noticeLine = h('p', { class: 'notice', role: 'status' });
  const quick = h('div', { class: 'quick-actions', role: 'group', 'aria-label': 'Quick actions' });
  const history = h('details', { class: 'history', 'data-testid': 'conversations' });
  let historyOpen = false;
  history.addEventListener('toggle', () => { historyOpen = history.open; });

  /** The earlier turns sent with the next message: the newest that fit. */
  const context = (): Turn[] => {
    const sent: Turn[] = [];
    let chars = 0;
    for (const t of [...turns].reverse()) {
      if (t.pending || !t.text || sent.length === CONTEXT_TURNS_MAX || chars + t.text.length > CONTEXT_CHARS_MAX) break;
      chars += t.text.length;
      sent.unshift(t);
    }
    return sent;
  };
  const historyTokens = (): number => context().reduce((sum, t) => sum + (t.tokens ?? 0), 0);

  /** The counter on the selected model's tokenizer, rebuilt when the model changes. */
  const tokenCounter = (model: string): TokenCounter => {
    if (!counter || counterModel !== model) {
      counter?.free();
      counter = new TokenCounter(model);
      counter.setText(typed);
      counterModel = model;
    }
    return counter;
  };

  /** The quick action whose prompt is in the composer as it was put there, if any. */
  let quickAction: { id: string; prompt: string } | null = null;

  /** The quick action the composer holds as it was put there, at the start of a conversation. */
  const quickActionNow = (): string | undefined =>
    quickAction && quickAction.prompt === typed && turns.length === 0 ? quickAction.id : undefined;

  /**
   * The estimate of what is typed, on the selected model of `balance`: a quick action's own
   * budget while its prompt is unchanged (at the start of a conversation), else the typed
   * text's, whose words tell a task from a question.
   */
  const estimate = (balance: Balance): MessageEstimate => {
    const model = balance.selected_model;
    const quickId = quickActionNow();
    if (quickId) return app.client.estimateQuickAction(quickId, model);
    const c = tokenCounter(model);
    return app.client.estimateMessage({
      model,
      text_tokens: c,
      text: typed,
      history_tokens: historyTokens(),
      feature,
      member: app.session.member,
    });
  };

  /** The list of the person's conversations, newest first; the one on show is marked. */
  const drawHistory = (): void => {
    const list = conversations.list;
    const items = list.map((c) => h('li', { class: c.id === conversations.current ? 'current' : null },
      h('button', {
        type: 'button', class: 'link', 'aria-current': c.id === conversations.current ? 'true' : null,
        onclick: () => void show(c.id),
      }, h('span', { class: 'title' }, c.title || 'Untitled'),
      h('span', { class: 'meta' }, `${fmt.dateTime(c.updated_at)} · ${c.turns} ${c.turns === 1 ? 'message' : 'messages'} · ${fmt.credits(c.credits)}`)),
      h('button', {
        type: 'button', class: 'quiet', 'aria-label': `Delete the conversation “${c.title}”`,
        disabled: !app.online,
        onclick: () => void remove(c.id, c.title),
      }, 'Delete')));
    mount(history,
      h('summary', null, `Your conversations (${list.length})`),
      list.length === 0
        ? h('p', { class: 'muted' }, 'Conversations you have with the assistant are kept here, on every device you sign in from.')
        : h('ul', { class: 'conversation-list' }, items),
      !conversations.fresh && list.length > 0 ? h('p', { class: 'muted' }, 'Offline: the list as it was last read.') : null);
    history.open = historyOpen;
  };

  /** Shows one of the person's conversations. */
  const show = async (id: string): Promise<void> => {
    if (sending) return;
    try {
      await conversations.open(id);
      turns = conversations.turns();
      notice = null;
    } catch (e) {
      notice = { text: `The conversation could not be opened: ${errorMessage(e)}`, tone: 'error' };
    }
    drawConversation();
    drawHistory();
    drawEstimate();
  };

  const remove = async (id: string, title: string): Promise<void> => {
    if (!window.confirm(`Delete the conversation “${title}”? Its messages are deleted on every device; the credits it used stay in your usage.`)) return;
    try {
      await conversations.remove(id);
      if (id !== conversations.current || turns.length > 0) turns = conversations.turns();
    } catch (e) {
      notice = { text: `The conversation was not deleted: ${errorMessage(e)}`, tone: 'error' };
    }
    drawConversation();
    drawHistory();
    drawEstimate();
  };

  const drawConversation = (): void => {
    if (turns.length === 0) {
      mount(conversation, h('li', { class: 'empty' }, 'Ask the assistant anything about your business. Each message uses a few credits; the estimate below shows how many before you send.'));
      return;
    }
    mount(conversation, turns.map((t) => h('li', { class: `turn ${t.role}`, 'aria-busy': t.pending ? 'true' : null },
      h('div', { class: 'who' }, t.role === 'user' ? 'You' : `Assistant · ${app.modelName(t.model ?? '')}`),
      h('div', { class: 'text' }, t.text),
      t.role === 'assistant' ? h('div', { class: t.pending ? 'pending' : 'cost' },
        t.pending ? 'Replying…'
          : t.billed_to === 'own_key' ? 'Billed to your own key: no credits used'
            : `Used ${fmt.exact(t.credits ?? 0)} credits`) : null)));
    conversation.lastElementChild?.scrollIntoView({ block: 'nearest' });
  };

  const exhaustedBanner = (est: MessageEstimate, b: Balance): HTMLElement | null => {
    if (est.allowed || est.rejection?.code !== 'credits_exhausted') return null;
    return h('div', { class: 'banner error', role: 'alert', 'data-testid': 'exhausted' },
      h('strong', null, 'You have used all your AI credits.'),
      ` Your monthly credits refill on ${fmt.date(b.cycle.end)}. Your conversation stays here to read; to keep using the assistant now, `,
      h('a', { href: '#/settings/billing', class: 'button-link' }, 'buy a credit pack'), '.');
  };

  const drawEstimate = (): void => {
    // One balance per keystroke: the estimate and every line below read it.
    const b = app.balance();
    const est = estimate(b);
    // The figures behind the words, for tests and for anyone inspecting the page.
    estimateLine.dataset.low = String(est.credits.low);
    estimateLine.dataset.high = String(est.credits.high);
    estimateLine.dataset.inputTokens = String(est.input_tokens.expected);
    estimateLine.dataset.billedTo = est.billed_to;
    estimateLine.dataset.expected = String(est.credits.expected);
    estimateLine.dataset.task = String(est.task);
    mount(banner, exhaustedBanner(est, b));
    mount(modelLine, 'Model: ', h('strong', null, app.modelName(est.model)), ' · ',
      h('a', { href: '#/settings/ai/configuration' }, 'change'));
    const blocked = !est.allowed;
    textarea.disabled = blocked && est.rejection?.code === 'credits_exhausted';
    sendButton.disabled = sending || blocked || !app.online || typed.trim() === '';
    sendButton.title = !app.online ? 'Sending needs the server: you are offline' : '';
    if (blocked) {
      mount(estimateLine, h('span', { class: 'warn' }, fmt.sentence(est.rejection?.message ?? 'this message cannot be sent')));
    } else if (typed.trim() === '') {
      mount(estimateLine, h('span', { class: 'muted' },
        est.billed_to === 'own_key'
          ? `Messages on ${app.modelName(est.model)} are billed to your own ${app.providerName(providerOf(app, est.model))} key.`
          : `Type a message to see what it will cost. ${fmt.credits(b.available)} available.`));
    } else {
      const credits = est.billed_to === 'own_key'
        ? h('span', { class: 'billed own', 'data-testid': 'billed-to' }, `Billed to your own ${app.providerName(providerOf(app, est.model))} key · 0 credits`)
        : quickActionNow()
          // A quick action's budget is its most: its answer is capped at it.
          ? h('span', { class: 'billed', 'data-testid': 'billed-to' }, `up to ${fmt.credits(est.credits.high)}`)
          : h('span', { class: 'billed', 'data-testid': 'billed-to' }, `≈ ${fmt.creditRange(est.credits.low, est.credits.high)}`);
      mount(estimateLine,
        h('span', { 'data-testid': 'estimate-credits' }, credits),
        h('span', null, ` · ${fmt.approxUsdMicros(est.cost_usd_micros.expected)} AI cost`),
        est.billed_to === 'credits'
          ? h('span', null, ` · after this message you will have ≈ ${fmt.credits(est.available_after_expected)}`)
          : null,
        est.worst_exceeds_available
          ? h('p', { class: 'warn' },
            `In the worst case this message needs more than the ${fmt.credits(est.available)} you have left; it may leave you with none.`)
          : null);
    }
    mount(noticeLine, notice ? h('span', { class: notice.tone }, notice.text) : null);
    if (!app.online && !notice) mount(noticeLine, h('span', { class: 'info' }, 'Offline: estimates still work; sending waits for the server.'));
  };

  const drawQuick = (): void => {
    mount(quick, h('button', {
      type: 'button', class: 'chip', title: 'Start a new conversation: this one stays in your conversations, and its messages stop counting as context',
      onclick: () => {
        if (sending) return;
        conversations.start();
        turns = [];
        drawConversation();
        drawHistory();
        drawEstimate();
      },
    }, 'New conversation'), app.catalogue.quickActions().map((qa) => h('button', {
      type: 'button', class: 'chip', title: 'A ready-made request with a short answer: at the start of a conversation it uses fewer credits than typing it',
      onclick: () => {
        textarea.value = qa.prompt;
        onEdit();
        feature = qa.feature;
        quickAction = { id: qa.id, prompt: qa.prompt };
        drawEstimate();
        textarea.focus();
      },
    }, qa.label)));
  };

  const onEdit = (): void => {
    const next = textarea.value;
    // The counter takes the edit whatever model it counts for: should the model have changed
    // meanwhile, `tokenCounter` rebuilds it from `typed` anyway.
    if (counter) {
      const edit = diff(typed, next);
      try {
        counter.splice(edit.start, edit.deleteCount, edit.inserted);
      } catch {
        counter.setText(next);
      }
    }
    typed = next;
    if (next.trim() === '') {
      // An emptied composer ends the quick action: typing its words again is a typed message.
      feature = 'assistant';
      quickAction = null;
    }
    if (notice?.tone === 'error') notice = null;
    drawEstimate();
  };

  const send = async (): Promise<void> => {
    const text = typed.trim();
    if (!text || sending) return;
    const est = estimate(app.balance());
    if (!est.allowed) return;
    sending = true;
    notice = { text: 'Sending…', tone: 'info' };
    drawEstimate();
    const again = unanswered?.text === text && unanswered.model === est.model ? unanswered : null;
    unanswered = null;
    const messageId = again?.messageId ?? newId('msg');
    const history = context().map((t) => ({ role: t.role, text: t.text }));
    const textTokens = tokenCounter(est.model).tokens;
    const messageFeature = feature; // clearing the composer below resets `feature`
    const quickId = quickActionNow(); // sent as the catalogue lists it, priced by its budget
    const messageQuick = quickAction; // emptying the composer below ends it
    const reply: Turn = { role: 'assistant', text: '', at: '', model: est.model, pending: true };
    try {
      turns.push({ role: 'user', text, at: new Date().toISOString(), tokens: textTokens });
      textarea.value = '';
      onEdit();
      turns.push(reply);
      drawConversation();
      const replyText = conversation.lastElementChild?.querySelector('.text');
      notice = { text: 'The assistant is replying…', tone: 'info' };
      drawEstimate();
      const done = await app.api.assistant(
        { model: est.model, message: text, id: messageId, feature: messageFeature, history, conversation: conversations.current, quick_action: quickId },
        (soFar) => {
          reply.text = soFar;
          if (replyText) replyText.textContent = soFar;
          replyText?.scrollIntoView({ block: 'nearest' });
        },
      );
      // A retry the server had already answered gives the same reply and entry (`duplicate`).
      const entry = done.entry;
      Object.assign(reply, {
        text: done.reply, at: new Date().toISOString(), pending: false,
        credits: entry?.credits ?? 0, billed_to: entry?.billed_to ?? est.billed_to,
        tokens: done.usage.output_tokens,
      });
      conversations.keep(turns);
      notice = null;
      void conversations.refresh().then(drawHistory, () => undefined);
    } catch (e) {
      turns = turns.filter((t) => t !== reply);
      const unknownOutcome = errorCode(e) === 'offline' && turns.at(-1)?.text === text;
      if (unknownOutcome) {
        // The request may have reached the server: keep the id for a safe retry.
        unanswered = { text, model: est.model, messageId };
      }
      if (turns.at(-1)?.role === 'user' && turns.at(-1)?.text === text) {
        turns.pop();
        textarea.value = text;
        onEdit();
        feature = messageFeature;
        quickAction = messageQuick;
      }
      notice = {
        text: unknownOutcome
          ? 'The server did not answer, so the message may not have gone through. Send it again when you are back online: it will not be charged twice.'
          : sendError(e),
        tone: 'error',
      };
    } finally {
      sending = false;
      drawConversation();
      await app.afterWrite();
    }
  };

  const form = h('form', {
    class: 'composer', 'aria-label': 'Message the assistant',
    onsubmit: (e: Event) => {
      e.preventDefault();
      void send();
    },
  },
  h('label', { for: 'message' }, 'Message'),
  textarea,
  estimateLine,
  h('div', { class: 'composer-row' }, modelLine, sendButton),
  noticeLine);
  textarea.addEventListener('input', onEdit);
  textarea.addEventListener('keydown', (e: KeyboardEvent) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void send();
    }
  });

  drawConversation();
  drawHistory();
  drawQuick();
  drawEstimate();
  app.onChange(drawEstimate);
  // The server's list, and the conversation on show as the server has it (another browser
  // of this person may have added to it).
  void conversations.refresh().then(async () => {
    drawHistory();
    // Only a conversation the server has (a new one is not there until its first message).
    if (!sending && conversations.list.some((c) => c.id === conversations.current)) await show(conversations.current);
  }, () => undefined);

  return h('div', { class: 'assistant-layout' },
    h('section', { class: 'chat', 'aria-labelledby': 'assistant-title' },
      h('h1', { id: 'assistant-title' }, 'AI Assistant'),
      history,
      banner,
      conversation,
      quick,
      form),
    usagePanel(app));
}

function providerOf(app: App, model: string): string {
  return app.models.find((m) => m.id === model)?.provider ?? '';
}

function sendError(e: unknown): string {
  switch (errorCode(e)) {
    case 'credits_exhausted':
      return 'Your credits are used up: buy a credit pack to keep going.';
    case 'insufficient_credits':
      return 'There are not enough credits left for this message.';
    case 'offline':
      return 'The server cannot be reached: your message was not sent. Try again when you are back online.';
    case 'own_key_refused':
    case 'model_unavailable':
      // The provider's refusal in SPEC §3's words (a billing problem names the provider's
      // billing page), or why the model cannot be used: said as it is, nothing was charged.
      return `${fmt.sentence(errorMessage(e))} Nothing was charged.`;
    default:
      return `The message was not sent: ${errorMessage(e)}`;
  }
}
