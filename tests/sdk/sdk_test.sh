#!/bin/sh
# The official SDKs against cipherline: `cipherline backend --dev` and
# `cipherline proxy --dump-requests`, then the pinned OpenAI and Anthropic
# Node SDKs (package-lock.json; scripts/setup-deps installs them) run
# openai_test.mjs and anthropic_test.mjs. Also: the proxy warns about the
# dump at startup, and the dump holds the plaintext. Fails without node or
# the installed SDKs.
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
sdk="$2"
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
wait_for() {  # wait_for PATTERN FILE
  waited=0
  until grep -q "$1" "$2" 2>/dev/null; do
    waited=$((waited + 1)); [ $waited -gt 600 ] && { echo "timed out waiting for '$1' in $2"; cat "$2"; exit 1; }
    sleep 0.1
  done
}

# Not skipped when something is missing: scripts/setup-deps installs both.
command -v node >/dev/null 2>&1 || { echo "FAIL: no node (scripts/setup-deps installs it)"; exit 1; }
for pkg in openai @anthropic-ai/sdk; do
  [ -f "$sdk/node_modules/$pkg/package.json" ] || { echo "FAIL: $pkg is not installed (scripts/setup-deps)"; exit 1; }
done

# Only the SDKs' keys count: none from the environment.
unset CIPHERLINE_API_KEY
api_key="sdk-test-key-5b0e2f7d9a41c386"
echo "$api_key" >"$tmp/api-keys"
"$bin" backend --dev --state "$tmp/state" --listen 127.0.0.1:0 --api-keys "$tmp/api-keys" \
  >"$tmp/backend.out" 2>>"$tmp/backend.log" &
backend_pid=$!
wait_for "gateway on https://" "$tmp/backend.out"
endpoint=$(sed -n 's|.*gateway on https://\([0-9.:]*\),.*|\1|p' "$tmp/backend.out")

# No --api-key: each SDK request brings its own (Bearer or X-Api-Key), so a
# wrong one reaches the gateway and is refused there.
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" \
  --dev-trust "$tmp/state" --port 0 --workspace "$tmp/ws" --dump-requests "$tmp/dump" \
  >/dev/null 2>>"$tmp/proxy.log" &
proxy_pid=$!
wait_for "listening on http" "$tmp/proxy.log"
proxy=$(sed -n 's|.*listening on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$tmp/proxy.log" | tail -1)

if grep -q "WARNING: --dump-requests: .*IN PLAINTEXT to $tmp/dump" "$tmp/proxy.log"; then
  ok dump-warning
else
  fail "dump-warning: $(cat "$tmp/proxy.log")"
fi

cd "$sdk" || exit 1
echo "# OpenAI SDK $(sed -n 's/.*"version": "\(.*\)".*/\1/p' node_modules/openai/package.json | head -1)"
node openai_test.mjs "$proxy" "$api_key" || failures=$((failures + 1))
echo "# Anthropic SDK $(sed -n 's/.*"version": "\(.*\)".*/\1/p' node_modules/@anthropic-ai/sdk/package.json | head -1)"
node anthropic_test.mjs "$proxy" "$api_key" || failures=$((failures + 1))

# The dump: a _req/_resp pair per forwarded request, the plaintext in it.
mode=$(stat -c %a "$tmp/dump")
[ "$mode" = 700 ] && ok dump-dir-owner-only || fail "dump-dir-owner-only: mode $mode"
mkdir -m 777 "$tmp/open-dump"
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" \
  --port 0 --dump-requests "$tmp/open-dump" >/dev/null 2>"$tmp/open-dump.err"
status=$?
[ $status = 2 ] && grep -q "writable by no one else" "$tmp/open-dump.err" && ok dump-dir-refused \
  || fail "dump-dir-refused: exit $status: $(cat "$tmp/open-dump.err")"
reqs=$(ls "$tmp/dump" | grep -c '_req\.txt$')
resps=$(ls "$tmp/dump" | grep -c '_resp\.txt$')
[ "$reqs" -gt 5 ] && [ "$reqs" -eq "$resps" ] && ok "dump-pairs ($reqs)" || fail "dump-pairs: $reqs requests, $resps responses"
grep -lq "unary through the sdk" "$tmp/dump"/*_req.txt && ok dump-prompt || fail dump-prompt
grep -lq "data: \[DONE\]" "$tmp/dump"/*_resp.txt && ok dump-stream || fail dump-stream
if grep -rqF -- "$api_key" "$tmp/dump"; then fail "dump holds the API key"; else ok dump-no-key; fi

# CIPHERLINE_API_KEY=@FILE as the default of --api-key: the proxy attests
# with it at startup, before any request; without --dump-requests it warns
# of nothing and writes no dump.
kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null; proxy_pid=
printf '%s\n' "$api_key" >"$tmp/key-file"
: >"$tmp/proxy2.log"
CIPHERLINE_API_KEY="@$tmp/key-file" "$bin" proxy --api-endpoint "$endpoint" \
  --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" --port 0 --workspace "$tmp/ws2" \
  >/dev/null 2>>"$tmp/proxy2.log" &
proxy_pid=$!
wait_for "backend verified" "$tmp/proxy2.log"
ok env-api-key-file
grep -q "using the API key from CIPHERLINE_API_KEY for every local caller" "$tmp/proxy2.log" \
  && ok env-api-key-warning || fail "env-api-key-warning: $(cat "$tmp/proxy2.log")"
grep -q "dump-requests" "$tmp/proxy2.log" && fail "no-dump-warning: $(cat "$tmp/proxy2.log")" || ok no-dump-warning
proxy=$(sed -n 's|.*listening on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$tmp/proxy2.log" | tail -1)
curl -s "$proxy/v1/chat/completions" -H 'Content-Type: application/json' \
  -d '{"model":"synthetic","messages":[{"role":"user","content":"not dumped"}]}' >"$tmp/answer.json"
grep -q "not dumped" "$tmp/answer.json" && ok env-key-serves || fail "env-key-serves: $(cat "$tmp/answer.json")"
if grep -rlq "not dumped" "$tmp" --exclude=answer.json; then fail "a dump without --dump-requests"; else ok no-dump; fi

[ "$failures" -eq 0 ] && echo "all passed" || echo "$failures failed"
[ "$failures" -eq 0 ]
