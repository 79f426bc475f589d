#!/usr/bin/env bash
# The main job: builds everything, starts the backend on http://127.0.0.1:8080 with an embedded
# SQLite database (ai-credits.db in ./demo/), creates a demo account through the HTTP API with
# a little history, prints how to use it, and keeps serving until Ctrl-C. (The web app of
# issue 6 will be served from here too.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin ai-credits
bash scripts/build-pkg.sh

# The conformance runners of both runtimes agree on the SPEC's worked example.
scenario=tests/scenarios/spec-example.json
if [ "$(target/release/ai-credits scenario "$scenario")" != "$(node tests/js/run-scenario.mjs "$scenario")" ]; then
  echo "demo: the native and WASM runners disagree on $scenario" >&2
  exit 1
fi

mkdir -p demo
export AI_CREDITS_ADMIN_TOKEN="${AI_CREDITS_ADMIN_TOKEN:-demo-admin-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')}"
addr="${AI_CREDITS_ADDR:-127.0.0.1:8080}"
(cd demo && exec ../target/release/ai-credits serve --addr "$addr") &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do curl -fs "http://$addr/v1/catalogue" >/dev/null 2>&1 && break; sleep 0.1; done

api() { # METHOD PATH TOKEN [BODY]
  curl -fsS -X "$1" "http://$addr$2" -H "authorization: Bearer $3" -H 'content-type: application/json' ${4:+-d "$4"}
}
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

account=$(api POST /v1/accounts "$AI_CREDITS_ADMIN_TOKEN" '{"plan":"pro"}' | field id)
admin=$(api POST "/v1/accounts/$account/tokens" "$AI_CREDITS_ADMIN_TOKEN" '{"member":"owner","role":"admin"}' | field token)
service=$(api POST "/v1/accounts/$account/tokens" "$AI_CREDITS_ADMIN_TOKEN" '{"member":"host-app","role":"service"}' | field token)
api POST "/v1/accounts/$account/events" "$admin" '{"kind":"purchase_pack","id":"demo-pack-1","pack":"1M"}' >/dev/null
i=0
for member in ana ben ana cy ben ana; do
  i=$((i + 1))
  api POST "/v1/accounts/$account/events" "$service" \
    "{\"kind\":\"usage\",\"id\":\"demo-u$i\",\"model\":\"claude-sonnet-4-6\",\"input_tokens\":$((900 + i * 150)),\"output_tokens\":$((200 + i * 40)),\"feature\":\"assistant\",\"member\":\"$member\"}" >/dev/null
done

echo
echo "ai-credits is serving on http://$addr (SQLite: demo/ai-credits.db). Demo account $account:"
api GET "/v1/accounts/$account/state" "$admin" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(`  plan ${r.plan}, monthly ${r.monthly.used.toLocaleString()} of ${r.monthly.allowance.toLocaleString()} used, purchased ${r.purchased_remaining.toLocaleString()}, available ${r.available.toLocaleString()}`);console.log("  usage by member:", JSON.stringify(r.usage_by_member))})'
cat <<TXT

Try it (tokens are for this run only):
  curl -s http://$addr/v1/accounts/$account/state -H 'authorization: Bearer $admin'
  curl -s -X POST http://$addr/v1/accounts/$account/events -H 'authorization: Bearer $service' \\
       -H 'content-type: application/json' -d '{"kind":"usage","id":"u-new","model":"gpt-5","input_tokens":900,"output_tokens":400}'
  curl -s http://$addr/v1/openapi.json
Ctrl-C stops the server.
TXT
wait "$server"
