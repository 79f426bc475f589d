// The session (an account id and a token the host app's backend issued) is handed over in
// sessionStorage under `ai-credits:session`, as the repository's web app does; the token is
// never stored anywhere else.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AiCreditsProvider, useAiCredits, useMessageEstimate, useTokenCounter } from 'ai-credits/react';

const MODEL = 'gpt-5';

function Composer() {
  const { client, error, version } = useAiCredits();
  const field = useTokenCounter(MODEL);
  const estimate = useMessageEstimate(field.counter, MODEL);
  if (error) return <p id="error" role="alert">{error.code}: {error.message}</p>;
  if (!client) return <p id="loading">Connecting…</p>;
  const balance = client.balance();
  return (
    <main>
      <p id="available" data-version={version}>{balance.available}</p>
      <label>Message <textarea aria-label="Message" {...field.bind} /></label>
      <p id="estimate">
        {estimate ? `${estimate.input_tokens.expected} tokens, up to ${estimate.credits.high} credits` : 'none'}
      </p>
    </main>
  );
}

const session = JSON.parse(sessionStorage.getItem('ai-credits:session') ?? 'null');
const root = createRoot(document.getElementById('root'));
root.render(session
  ? (
    <StrictMode>
      <AiCreditsProvider options={{ base_url: '', account_id: session.account_id, token: session.token }} syncEveryMs={0}>
        <Composer />
      </AiCreditsProvider>
    </StrictMode>
  )
  : <p id="error">No session: put {'{"account_id", "token"}'} in sessionStorage under ai-credits:session.</p>);
