#!/bin/sh
# The command-line contract of the pipeline: `cipherline backend --dev` and
# `cipherline proxy` as separate processes, curl as the application. Every
# route, streaming and not; the proxy's health and metrics; a restart of the
# backend on its state directory; a proxy pinned to another manifest; the
# in-process client example; a backend forwarding to a model server of its
# own (--upstream); and neither the backend's nor the proxy's logs carrying
# the prompt.
set -u
bin="$1"
example="$2"
multi_loop_example="$3"
failures=0
tmp=$(mktemp -d)
backend_pid=
proxy_pid=
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
expect() {  # expect NAME TEXT_EXPECTED OUTPUT
  if printf '%s' "$3" | grep -qF -- "$2"; then ok "$1"; else fail "$1: lacks '$2': $3"; fi
}
wait_for() {  # wait_for PATTERN FILE
  i=0
  until grep -q "$1" "$2" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && { echo "timed out waiting for '$1' in $2"; cat "$2"; exit 1; }
    sleep 0.1
  done
}
start_backend() {
  : >"$tmp/backend.out"
  "$bin" backend --dev --state "$tmp/state" --listen 127.0.0.1:0 --secret-store file \
    >"$tmp/backend.out" 2>>"$tmp/backend.log" &
  backend_pid=$!
  wait_for "gateway on https://" "$tmp/backend.out"
  endpoint=$(sed -n 's|.*gateway on https://\([0-9.:]*\),.*|\1|p' "$tmp/backend.out")
}
start_proxy() {  # start_proxy MANIFEST [FLAGS...]
  : >"$tmp/proxy.log"
  manifest=$1; shift
  "$bin" proxy --api-endpoint "$endpoint" --manifest "$manifest" --dev-trust "$tmp/state" \
    --api-key dev --port 0 --workspace "$tmp/workspace" --max-body 256K "$@" \
    >/dev/null 2>>"$tmp/proxy.log" &
  proxy_pid=$!
  wait_for "listening on http" "$tmp/proxy.log"
  proxy=$(sed -n 's|.*listening on \(https*://[0-9.]*:[0-9]*\).*|\1|p' "$tmp/proxy.log" | tail -1)
}
stop_proxy() { kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null; proxy_pid=; }

start_backend
expect backend-admissions "PASS admission of secret-service" "$(cat "$tmp/backend.out")"
expect backend-gpus "PASS GPUs of worker-0" "$(cat "$tmp/backend.out")"
for f in manifest.json sev-snp-dev-cert-chain.pem dev-ca.pem; do
  [ -s "$tmp/state/$f" ] && ok "state-$f" || fail "state-$f missing"
done
mode=$(stat -c %a "$tmp/state/private")
[ "$mode" = 700 ] && ok state-private-mode || fail "state-private-mode: $mode"

start_proxy "$tmp/state/manifest.json"
i=0
until curl -sf "$proxy/healthz" >/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && { fail "proxy-healthz: never 200"; cat "$tmp/proxy.log"; break; }
  sleep 0.1
done
[ $i -le 300 ] && ok proxy-healthz

secret="orchid velvet 4417 harbor"
chat() { curl -s "$proxy/v1/chat/completions" -H 'Content-Type: application/json' -d "$1"; }
out=$(chat "{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}]}")
expect chat "\"content\":\"$secret\"" "$out"
out=$(chat "{\"model\":\"synthetic\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}]}")
expect chat-stream '"delta":{"content":"velvet "}' "$out"
expect chat-stream-done "data: [DONE]" "$out"
out=$(curl -s "$proxy/v1/completions" -d "{\"model\":\"synthetic\",\"prompt\":\"$secret\"}")
expect completions "$secret" "$out"
out=$(curl -s "$proxy/v1/completions" -d "{\"model\":\"synthetic\",\"stream\":true,\"prompt\":\"$secret\"}")
expect completions-stream '"text":"harbor"' "$out"
out=$(curl -s "$proxy/v1/embeddings" -d "{\"model\":\"synthetic\",\"input\":\"$secret\"}")
expect embeddings '"embedding":[' "$out"
out=$(curl -s "$proxy/v1/messages" -d "{\"model\":\"synthetic\",\"max_tokens\":32,\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}]}")
expect messages "$secret" "$out"
out=$(curl -s "$proxy/v1/messages" -d "{\"model\":\"synthetic\",\"max_tokens\":32,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}]}")
expect messages-stream "event: content_block_delta" "$out"
expect messages-stream-text '"text":"4417 "' "$out"
out=$(curl -s "$proxy/v1/models")
expect models '"synthetic"' "$out"

# Bad input: clear 4xx errors.
out=$(curl -s -w ' %{http_code}' "$proxy/v1/chat/completions" -d '{"model":')
expect bad-json "not valid JSON" "$out"
expect bad-json-status " 400" "$out"
out=$(curl -s -w ' %{http_code}' "$proxy/v1/chat/completions" -d '{"messages":[]}')
expect no-model 'missing \"model\"' "$out"
head -c 300000 /dev/zero | tr '\0' ' ' >"$tmp/huge.json"
out=$(curl -s -w ' %{http_code}' "$proxy/v1/chat/completions" --data-binary @"$tmp/huge.json")
expect huge-body " 413" "$out"

# Local callers only: a page whose name was rebound to 127.0.0.1, and a
# cross-site form post (text/plain, no CORS preflight), are refused.
out=$(curl -s -w ' %{http_code}' "$proxy/v1/chat/completions" -H 'Host: attacker.example' \
  -H 'Content-Type: application/json' -d "{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}]}")
expect rebinding-host 'Host \"attacker.example\" is not one of this proxy' "$out"
expect rebinding-host-status " 421" "$out"
out=$(curl -s -w ' %{http_code}' "$proxy/metrics" -H 'Host: attacker.example')
expect rebinding-host-metrics " 421" "$out"
out=$(curl -s -w ' %{http_code}' "$proxy/v1/chat/completions" -H 'Content-Type: text/plain' \
  -H 'Origin: http://attacker.example' -d "{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"$secret\"}]}")
expect cross-site-origin 'Origin \"http://attacker.example\" is not allowed' "$out"
expect cross-site-origin-status " 403" "$out"

out=$(curl -s "$proxy/metrics")
expect metrics-requests 'cipherline_proxy_requests_total{route="/v1/chat/completions",status="200"} 2' "$out"
expect metrics-attest 'cipherline_proxy_attest_seconds_count 1' "$out"
[ -s "$tmp/workspace/manifests/log.txt" ] && cmp -s "$tmp/workspace/manifests/1.json" "$tmp/state/manifest.json" \
  && ok manifest-log || fail "manifest-log: $(cat "$tmp/workspace/manifests/log.txt" 2>&1)"

# Three loops, one attested session: every loop answers, and the process
# attested and exchanged a key once.
mt_port=$((20000 + $$ % 20000))
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" \
  --api-key dev --port "$mt_port" --threads 3 >/dev/null 2>"$tmp/proxy-mt.log" &
mt_pid=$!
wait_for "backend verified" "$tmp/proxy-mt.log"
mt_ok=0
for n in 1 2 3 4 5 6 7 8 9; do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mt_port/v1/chat/completions" \
    -d '{"model":"synthetic","messages":[{"role":"user","content":"loops"}]}')
  [ "$code" = 200 ] && mt_ok=$((mt_ok + 1))
done
[ "$mt_ok" = 9 ] && ok threads-answer || fail "threads-answer: $mt_ok of 9 answered 200"
out=$(curl -s "http://127.0.0.1:$mt_port/metrics")
expect threads-one-attestation 'cipherline_proxy_attest_seconds_count 1' "$out"
expect threads-one-exchange 'cipherline_proxy_exchange_seconds_count 1' "$out"
[ "$(grep -c 'backend verified' "$tmp/proxy-mt.log")" = 1 ] && ok threads-logged-once \
  || fail "threads-logged-once: $(cat "$tmp/proxy-mt.log")"
kill "$mt_pid"; wait "$mt_pid" 2>/dev/null

# The documented multi-loop client: four loops, one attestation, one exchange.
out=$("$multi_loop_example" "$endpoint" "$tmp/state" 4 2>&1)
expect multi-loop-answers "loop 3: " "$out"
expect multi-loop-one-session "attestations: 1, exchanges: 1" "$out"

# The documented in-process client, against the same backend.
out=$("$example" "$endpoint" "$tmp/state" "$secret" 2>&1)
expect example-verified "verified: yes" "$out"
expect example-answer "\"content\":\"$secret\"" "$out"
expect example-stream 'chunk: {' "$out"

# The backend restarts on its state: the same manifest, and the secret the
# proxy holds survives in the file store (no re-exchange needed).
kill "$backend_pid"; wait "$backend_pid" 2>/dev/null
cp "$tmp/state/manifest.json" "$tmp/manifest-before.json"
old_endpoint=$endpoint
: >"$tmp/backend.out"  # emptied here: the new process may open it only after wait_for looks
"$bin" backend --dev --state "$tmp/state" --listen "$old_endpoint" --secret-store file \
  >"$tmp/backend.out" 2>>"$tmp/backend.log" &
backend_pid=$!
wait_for "gateway on https://" "$tmp/backend.out"
cmp -s "$tmp/manifest-before.json" "$tmp/state/manifest.json" && ok restart-same-manifest \
  || fail restart-same-manifest
out=$(chat "{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"after restart\"}]}")
expect restart-chat '"content":"after restart"' "$out"
stop_proxy

# The expected manifest from a URL, as from Privatemode's CDN.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$tmp/state" >"$tmp/http.log" 2>&1 &
http_pid=$!
wait_for "Serving HTTP" "$tmp/http.log"
http_port=$(sed -n 's|.* port \([0-9]*\).*|\1|p' "$tmp/http.log" | head -1)
start_proxy "http://127.0.0.1:$http_port/manifest.json"
i=0
until curl -sf "$proxy/healthz" >/dev/null; do i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1; done
out=$(chat "{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"pinned by URL\"}]}")
expect manifest-url '"content":"pinned by URL"' "$out"
expect manifest-url-cache-buster "GET /manifest.json?t=" "$(cat "$tmp/http.log")"
stop_proxy
kill "$http_pid"; wait "$http_pid" 2>/dev/null

# A malformed --allowed-origin is a usage error, before anything starts.
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" \
  --allowed-origin http://localhost:3000/ >/dev/null 2>"$tmp/usage.err"
status=$?
[ $status = 2 ] && ok allowed-origin-usage || fail "allowed-origin-usage: exit $status"
expect allowed-origin-usage-message '--allowed-origin "http://localhost:3000/": expected' "$(cat "$tmp/usage.err")"

# --tdx-collateral names a directory of Intel's collateral; a missing file
# is a usage error naming it.
mkdir -p "$tmp/tdx"
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" \
  --tdx-collateral "$tmp/tdx" >/dev/null 2>"$tmp/usage.err"
status=$?
[ $status = 2 ] && ok tdx-collateral-usage || fail "tdx-collateral-usage: exit $status"
expect tdx-collateral-usage-message 'tcb_info.json' "$(cat "$tmp/usage.err")"
# --wire-format takes oae or fields only.
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" \
  --wire-format json >/dev/null 2>"$tmp/usage.err"
status=$?
[ $status = 2 ] && ok wire-format-usage || fail "wire-format-usage: exit $status"
expect wire-format-usage-message "--wire-format expects oae or fields, got 'json'" "$(cat "$tmp/usage.err")"

# Both wire formats through the proxy: a stream sealed as OAE (the default,
# counted in /metrics) and as v1.40 fields.
for format in oae fields; do
  start_proxy "$tmp/state/manifest.json" --wire-format "$format"
  wait_for "backend verified" "$tmp/proxy.log"
  out=$(curl -sN "$proxy/v1/chat/completions" -H 'Content-Type: application/json' \
    -d '{"model":"synthetic","stream":true,"messages":[{"role":"user","content":"sealed either way"}]}')
  expect "stream-$format-tokens" '"content":"either "' "$out"
  expect "stream-$format-done" 'data: [DONE]' "$out"
  count=$(curl -s "$proxy/metrics" | sed -n 's/^cipherline_proxy_oae_responses_total //p')
  want=1; [ "$format" = fields ] && want=0
  [ "$count" = "$want" ] && ok "stream-$format-counted" || fail "stream-$format-counted: $count"
  stop_proxy
done

# --require-amd-crl: the development backend's evidence carries no AMD CRL,
# so the proxy refuses to verify it and says why.
start_proxy "$tmp/state/manifest.json" --require-amd-crl
i=0
until out=$(curl -s "$proxy/healthz"); printf '%s' "$out" | grep -q "AMD CRL"; do
  i=$((i + 1)); [ $i -gt 100 ] && break
  sleep 0.1
done
expect require-amd-crl "AMD CRL" "$out"
out=$(curl -s -w ' %{http_code}' "$proxy/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"synthetic","messages":[{"role":"user","content":"never sent"}]}')
expect require-amd-crl-refused " 503" "$out"
stop_proxy

# The proxy over HTTPS (--tls-cert/--tls-key), behind a name of the user's
# own (--allowed-host) and for a web app (--allowed-origin, repeatable).
start_proxy "$tmp/state/manifest.json" --tls-cert "$tmp/state/private/gateway.pem" \
  --tls-key "$tmp/state/private/gateway-key.pem" --log-format json \
  --allowed-host llm.lan --allowed-origin https://app.example --allowed-origin http://localhost:3000
expect proxy-https "https://127.0.0.1:" "$proxy"
i=0
until curl -sf --cacert "$tmp/state/dev-ca.pem" "$proxy/healthz" >/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1
done
out=$(curl -s --cacert "$tmp/state/dev-ca.pem" "$proxy/v1/chat/completions" \
  -d '{"model":"synthetic","messages":[{"role":"user","content":"over https"}]}')
expect proxy-https-chat '"content":"over https"' "$out"
out=$(curl -s --cacert "$tmp/state/dev-ca.pem" -H 'Host: llm.lan' -H 'Origin: http://localhost:3000' \
  "$proxy/v1/chat/completions" -d '{"model":"synthetic","messages":[{"role":"user","content":"allowed"}]}')
expect allowed-host-origin '"content":"allowed"' "$out"
out=$(curl -s -w ' %{http_code}' --cacert "$tmp/state/dev-ca.pem" -H 'Origin: https://app.example' "$proxy/healthz")
expect allowed-origin-second "ok 200" "$(printf '%s' "$out" | tr -d '\n')"
out=$(curl -s -w ' %{http_code}' --cacert "$tmp/state/dev-ca.pem" -H 'Host: other.lan' "$proxy/healthz")
expect allowed-host-only-named " 421" "$out"
expect proxy-json-log '"component":"proxy","msg":"backend verified' "$(cat "$tmp/proxy.log")"
stop_proxy

# A proxy pinned to another manifest refuses to forward, and says why.
sed 's/"SANs"/"SANs" /' "$tmp/state/manifest.json" >"$tmp/other-manifest.json"
start_proxy "$tmp/other-manifest.json"
sleep 1
out=$(chat '{"model":"synthetic","messages":[]}')
expect mismatch-refused "the backend is not verified: manifest mismatch" "$out"
out=$(curl -s -w ' %{http_code}' "$proxy/healthz")
expect mismatch-unhealthy " 503" "$out"
stop_proxy

# A backend forwarding to a model server in another process (--upstream).
kill "$backend_pid"; wait "$backend_pid" 2>/dev/null
"$bin" backend --dev --state "$tmp/state" --role model --listen 127.0.0.1:0 >"$tmp/model.out" 2>&1 &
model_pid=$!
wait_for " on http://" "$tmp/model.out"
model=$(sed -n 's|.* on \(http://[0-9.:]*\).*|\1|p' "$tmp/model.out")
: >"$tmp/backend.out"
"$bin" backend --dev --state "$tmp/state" --listen "$old_endpoint" --upstream "$model" \
  --model-name synthetic >"$tmp/backend.out" 2>>"$tmp/backend.log" &
backend_pid=$!
wait_for "gateway on https://" "$tmp/backend.out"
start_proxy "$tmp/state/manifest.json"
i=0
until curl -sf "$proxy/healthz" >/dev/null; do i=$((i + 1)); [ $i -gt 300 ] && break; sleep 0.1; done
out=$(chat "{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"via upstream\"}]}")
expect upstream-chat '"content":"via upstream"' "$out"
stop_proxy
kill "$model_pid"; wait "$model_pid" 2>/dev/null

# Logs carry no prompt text.
if grep -q "orchid\|velvet\|harbor" "$tmp/backend.log" "$tmp/proxy.log" "$tmp/backend.out"; then
  fail "logs-without-plaintext: $(grep -h "orchid\|velvet\|harbor" "$tmp/backend.log" "$tmp/proxy.log")"
else
  ok logs-without-plaintext
fi

# Usage errors name the flag.
out=$("$bin" backend --state "$tmp/x" 2>&1); st=$?
[ $st -eq 2 ] && expect backend-needs-dev "pass --dev" "$out" || fail "backend-needs-dev: status $st"
out=$("$bin" proxy --api-endpoint 127.0.0.1:1 --manifest "$tmp/none.json" 2>&1); st=$?
[ $st -eq 2 ] && expect proxy-missing-manifest "cannot read" "$out" || fail "proxy-missing-manifest: status $st"

[ $failures -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all pipeline CLI checks passed"
