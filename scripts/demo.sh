#!/usr/bin/env bash
# The main job: installs what is missing, builds the server, the npm package and the web app,
# and serves the web app and the API from one origin, http://127.0.0.1:8080, with an embedded
# SQLite database in ./demo/. `serve --demo` seeds a demo account with a year of history on its
# first start (kept across restarts; delete demo/ to start over), hands the page a session,
# answers messages with a stand-in assistant, and tests provider keys against local stand-ins
# (a key starting with `demo-` connects). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin ai-credits --features demo
bash scripts/build-pkg.sh
bash scripts/build-www.sh

# The conformance runners of both runtimes agree on the SPEC's worked example.
scenario=tests/scenarios/spec-example.json
if [ "$(target/release/ai-credits scenario "$scenario")" != "$(node tests/js/run-scenario.mjs "$scenario")" ]; then
  echo "demo: the native and WASM runners disagree on $scenario" >&2
  exit 1
fi

mkdir -p demo
export AI_CREDITS_ADMIN_TOKEN="${AI_CREDITS_ADMIN_TOKEN:-demo-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
addr="${AI_CREDITS_ADDR:-127.0.0.1:8080}"
(cd demo && exec ../target/release/ai-credits serve --demo --addr "$addr" --www ../www/dist) &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' EXIT INT TERM
for _ in $(seq 300); do curl -fs "http://$addr/v1/catalogue" >/dev/null 2>&1 && break; sleep 0.1; done
if ! curl -fs "http://$addr/v1/catalogue" >/dev/null 2>&1; then
  echo "demo: the server did not come up on $addr" >&2
  exit 1
fi

session=$(curl -fsS -X POST "http://$addr/v1/demo/session" -H 'content-type: application/json' -d '{}')
token=$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$session")
curl -fsS "http://$addr/v1/accounts/acc_demo/state" -H "authorization: Bearer $token" | node -e '
let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
  const r = JSON.parse(s);
  const packs = r.packs.filter((p) => p.remaining > 0).map((p) => `${p.pack} (${p.remaining.toLocaleString("en-US")} left, expires ${p.expires_at.slice(0, 10)})`);
  console.log(`\nThe demo account (plan ${r.plan}): ${r.monthly.used.toLocaleString("en-US")} of ${r.monthly.allowance.toLocaleString("en-US")} monthly credits used; packs: ${packs.join(", ") || "none"}.`);
  console.log(`Team members this cycle: ${Object.keys(r.usage_by_member).join(", ")}.`);
});'
cat <<TXT

Open http://$addr in a browser: the AI assistant with live estimates, Settings › AI Assistant
(usage, model picker, your own keys: any key starting with "demo-" connects) and Billing & Plan.
The API is on the same origin (http://$addr/v1/openapi.json). Stop the server to see the app
go offline; start this script again and it catches up. Ctrl-C stops it.
TXT
wait "$server"
