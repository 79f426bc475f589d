// `ai-credits/react`: hooks for React 18 and 19 (copied into pkg/ by scripts/build-pkg.sh).
//
// WASM objects are made in effects, never during render, and freed in the effect's cleanup,
// so StrictMode's extra mount and unmount and concurrent rendering never reach a freed object:
// a hook gives `null` until its object exists (the first render, and while the module loads).
// Render only reads them; a TokenCounter's text is set to what is rendered, which is the same
// however often a render is repeated or thrown away.
import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useRef, useState } from 'react';
import init, { AiCreditsError, Client, Ledger, TokenCounter, textEdit } from 'ai-credits';

let loading = null;
let loaded = false;

/** Whether the WASM module is loaded; loads it once (in Node it is loaded at import). */
function useLoaded() {
  const [ready, setReady] = useState(loaded);
  useEffect(() => {
    if (loaded) return undefined;
    let live = true;
    loading ??= init().then(() => { loaded = true; });
    loading.then(() => { if (live) setReady(true); }, () => { loading = null; });
    return () => { live = false; };
  }, []);
  return ready || loaded;
}

/** An object made by `make()` once the module is loaded, freed when `deps` change or on unmount. */
function useOwned(make, deps) {
  const ready = useLoaded();
  const [owned, setOwned] = useState(null);
  useEffect(() => {
    if (!ready) return undefined;
    const made = make();
    setOwned(made);
    return () => {
      setOwned((current) => (current === made ? null : current));
      made?.free();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, ...deps]);
  return owned;
}

/**
 * A `Client` connected to the server (see `Client.connect`), synced every `syncEveryMs`
 * (default 15 s; 0: never). `version` grows whenever its state may have changed; `refresh()`
 * syncs now.
 */
export function useClient(options, { syncEveryMs = 15_000 } = {}) {
  const ready = useLoaded();
  const [state, setState] = useState({ client: null, error: null, version: 0 });
  const { base_url: baseUrl, account_id: accountId, token, storage_key: storageKey } = options;
  const clientRef = useRef(null);
  useEffect(() => {
    if (!ready) return undefined;
    let live = true;
    setState({ client: null, error: null, version: 0 });
    const connecting = Client.connect({ base_url: baseUrl, account_id: accountId, token, ...(storageKey ? { storage_key: storageKey } : {}) });
    connecting.then((client) => {
      if (!live) {
        client.free();
        return;
      }
      clientRef.current = client;
      setState((s) => ({ client, error: null, version: s.version + 1 }));
    }, (error) => {
      if (live) setState({ client: null, error, version: 0 });
    });
    return () => {
      live = false;
      const client = clientRef.current;
      clientRef.current = null;
      setState((s) => (s.client === client ? { client: null, error: null, version: 0 } : s));
      client?.free();
    };
  }, [ready, baseUrl, accountId, token, storageKey]);
  const refresh = useCallback(async () => {
    const client = clientRef.current;
    if (!client) return null;
    const status = await client.sync();
    if (clientRef.current === client) setState((s) => ({ ...s, version: s.version + 1 }));
    return status;
  }, []);
  useEffect(() => {
    if (!state.client || !syncEveryMs) return undefined;
    const timer = setInterval(() => { void refresh(); }, syncEveryMs);
    return () => clearInterval(timer);
  }, [state.client, syncEveryMs, refresh]);
  return { client: state.client, error: state.error, loading: !state.client && !state.error, version: state.version, refresh };
}

const Context = createContext(null);

/** Connects one `Client` for everything below it (`useAiCredits()`, `useMessageEstimate`). */
export function AiCreditsProvider({ options, syncEveryMs, children }) {
  const value = useClient(options, { syncEveryMs });
  return createElement(Context.Provider, { value }, children);
}

/** What `<AiCreditsProvider>` connected: `{ client, error, loading, version, refresh }`. */
export function useAiCredits() {
  const value = useContext(Context);
  if (!value) throw new AiCreditsError('not_initialized', 'useAiCredits() needs an <AiCreditsProvider> above it');
  return value;
}

/**
 * A `Ledger` of its own, offline: `new Ledger(account, catalogue)`, then `events` replayed.
 * `apply(event)` applies one and re-renders. Remade when `account`, `events` or `catalogue` change.
 */
export function useLedger(account, { events, catalogue } = {}) {
  const key = JSON.stringify([account, events ?? null]);
  const ledger = useOwned(() => (events ? Ledger.fromEvents(account, events, catalogue) : new Ledger(account, catalogue)), [key, catalogue]);
  const [version, setVersion] = useState(0);
  const apply = useCallback((event) => {
    if (!ledger) throw new AiCreditsError('not_initialized', 'the ledger is not made yet (it is null on the first render)');
    const outcome = ledger.apply(event);
    setVersion((v) => v + 1);
    return outcome;
  }, [ledger]);
  return { ledger, apply, version };
}

/**
 * Makes `counter` count `text` during render: by one splice when it counted the text before (a
 * keystroke), else whole. The same on every repeat of a render, so a repeated or discarded one
 * is harmless.
 */
function useCounted(counter, text) {
  const counted = useRef({ counter: null, text: '' });
  if (!counter) return;
  const c = counted.current;
  if (c.counter !== counter) {
    counter.setText(text);
  } else if (c.text !== text) {
    const edit = textEdit(c.text, text);
    counter.splice(edit.start, edit.deleteCount, edit.inserted);
  }
  counted.current = { counter, text };
}

/**
 * A `TokenCounter` bound to a text field: spread `bind` on a `<textarea>` (or an `<input>`) and
 * each edit reaches the counter as one splice. `tokens`, `low` and `high` follow the text;
 * `counter` (null on the first render) is a message request's `text_tokens` as it is.
 */
export function useTokenCounter(model, initialText = '') {
  const [value, setValue] = useState(initialText);
  const counter = useOwned(() => new TokenCounter(model), [model]);
  useCounted(counter, value);
  const onChange = useCallback((event) => setValue(event.target.value), []);
  const estimate = counter ? { tokens: counter.tokens, low: counter.low, high: counter.high } : { tokens: 0, low: 0, high: 0 };
  return { ...estimate, counter, value, setValue, bind: { value, onChange } };
}

/**
 * The estimate of a message (`MessageEstimate`, or null until it can be made), from `source`
 * (a `Ledger` or `Client`; default: the provider's client). `text` is the message, or a
 * `TokenCounter` already counting it (`useTokenCounter().counter`). `request` adds
 * `history_tokens`, `feature`, `member`.
 */
export function useMessageEstimate(text, model, { source, request } = {}) {
  const context = useContext(Context);
  const from = source ?? context?.client ?? null;
  const counting = typeof text === 'string';
  const own = useOwned(() => (counting ? new TokenCounter(model) : null), [model, counting]);
  const counter = counting ? own : text;
  useCounted(own, counting ? text : '');
  const tokens = counter?.__wbg_ptr ? `${counter.tokens}/${counter.low}/${counter.high}` : null;
  const version = context?.version ?? 0;
  const extra = JSON.stringify(request ?? {});
  return useMemo(() => {
    if (!from?.__wbg_ptr || !tokens) return null;
    return from.estimateMessage({ ...JSON.parse(extra), model, text_tokens: counter });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [from, counter, tokens, model, extra, version]);
}
