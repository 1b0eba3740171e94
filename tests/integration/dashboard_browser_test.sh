#!/bin/sh
# The proxy's dashboard in a real browser: `cipherline backend --dev` and
# `cipherline proxy` as processes, headless Chromium loading
# http://127.0.0.1:PORT/dashboard. The rendered DOM must show what curl reads
# from /verification (the verified banner, the measurement, the secret ID,
# every check with its verdict); a proxy pinned to another manifest must show
# "not verified" with the failing check. Screenshots at 1280x800 and 390x844
# are saved in OUT_DIR and must be PNGs of that size.
#
# usage: dashboard_browser_test.sh CIPHERLINE OUT_DIR
# Skipped (77) only when no chromium is installed.
set -u
bin="$1"
out="$2"
here=$(dirname "$0")
browser=$(command -v chromium || command -v chromium-browser) || {
  echo "chromium is not installed (scripts/setup-deps installs it): skipped"
  exit 77
}
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
  i=0
  until grep -q "$1" "$2" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && { echo "timed out waiting for '$1' in $2"; cat "$2"; exit 1; }
    sleep 0.1
  done
}
start_proxy() {  # start_proxy MANIFEST
  : >"$tmp/proxy.log"
  "$bin" proxy --api-endpoint "$endpoint" --manifest "$1" --dev-trust "$tmp/state" \
    --api-key dev --port 0 --workspace "$tmp/workspace" >/dev/null 2>>"$tmp/proxy.log" &
  proxy_pid=$!
  wait_for "listening on http" "$tmp/proxy.log"
  proxy=$(sed -n 's|.*listening on \(http://[0-9.]*:[0-9]*\).*|\1|p' "$tmp/proxy.log" | tail -1)
}
stop_proxy() { kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null; proxy_pid=; }
# The browser talks to the proxy on loopback and to nothing else: other
# hosts resolve to nothing, and would go to a proxy that is not there.
browse() {
  "$browser" --headless --no-sandbox --disable-gpu --user-data-dir="$tmp/profile" \
    --no-first-run --disable-background-networking --disable-component-update --disable-sync \
    --disable-default-apps --disable-domain-reliability --no-pings \
    --proxy-server=127.0.0.1:9 --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
    "$@" 2>>"$tmp/browser.log"
}
# render URL DOM_FILE STATE: the DOM once the page shows STATE (polling
# /verification every 2 s; a few tries of 6 s of page time each).
render() {
  for _ in 1 2 3 4 5; do
    browse --virtual-time-budget=6000 --dump-dom "$1" >"$2"
    grep -q "data-state=\"$3\"" "$2" && return 0
  done
  return 1
}
png_size() {  # png_size FILE: "WIDTHxHEIGHT" of a PNG, or nothing
  python3 -c '
import struct, sys
data = open(sys.argv[1], "rb").read(24)
if len(data) == 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
    print("%dx%d" % struct.unpack(">II", data[16:24]))' "$1"
}

"$bin" backend --dev --state "$tmp/state" --listen 127.0.0.1:0 >"$tmp/backend.out" \
  2>>"$tmp/backend.log" &
backend_pid=$!
wait_for "gateway on https://" "$tmp/backend.out"
endpoint=$(sed -n 's|.*gateway on https://\([0-9.:]*\),.*|\1|p' "$tmp/backend.out")

start_proxy "$tmp/state/manifest.json"
i=0
until curl -sf "$proxy/healthz" >/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && { echo "proxy never verified"; cat "$tmp/proxy.log"; exit 1; }
  sleep 0.1
done
# Some traffic for the counters and plots: answers, streams, a gateway error.
for n in 1 2 3 4 5 6; do
  curl -s "$proxy/v1/chat/completions" -d "{\"model\":\"synthetic\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"tokens for the plot number $n\"}]}" >/dev/null
  curl -s "$proxy/v1/chat/completions" -d '{"model":"synthetic","messages":[{"role":"user","content":"whole"}]}' >/dev/null
done
curl -s "$proxy/v1/chat/completions" -d '{"model":"no-such-model","messages":[]}' >/dev/null

headers=$(curl -s -D - -o "$tmp/page.html" "$proxy/dashboard")
printf '%s' "$headers" | grep -qi '^content-security-policy: default-src .none.' && ok page-csp \
  || fail "page-csp: $headers"
status=$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: attacker.example' "$proxy/dashboard")
[ "$status" = 421 ] && ok page-rebinding-host || fail "page-rebinding-host: $status"

curl -s "$proxy/verification" >"$tmp/verification.json"
if render "$proxy/dashboard" "$tmp/dom.html" verified; then
  ok dom-verified
else
  fail "dom-verified: the page never showed the verified state"
  cat "$tmp/browser.log"
fi
check=$(python3 "$here/dashboard_dom_check.py" "$tmp/dom.html" "$tmp/verification.json" verified)
[ $? -eq 0 ] && ok dom-matches-verification || fail "dom-matches-verification: $check"
measurement=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["coordinator"]["measurement"])' \
  "$tmp/verification.json")
grep -q "id=\"measurement\"[^>]*>$measurement<" "$tmp/dom.html" && ok dom-measurement \
  || fail "dom-measurement: $measurement not shown"
grep -q '<tr class="pass" data-check="manifest">' "$tmp/dom.html" && ok dom-passing-check \
  || fail "dom-passing-check: no passing manifest check"

mkdir -p "$out"
for size in 1280x800 390x844; do
  file="$out/dashboard-$size.png"
  rm -f "$file"
  browse --virtual-time-budget=6000 --hide-scrollbars --window-size="${size%x*},${size#*x}" \
    --screenshot="$file" "$proxy/dashboard" >/dev/null
  got=$(png_size "$file" 2>/dev/null)
  bytes=$(wc -c <"$file" 2>/dev/null || echo 0)
  if [ "$got" = "$size" ] && [ "$bytes" -gt 10000 ]; then
    ok "screenshot-$size ($file, $bytes bytes)"
  else
    fail "screenshot-$size: '$got', $bytes bytes"
  fi
done
stop_proxy

# Pinned to another manifest: never verified, and the page says which check.
sed 's/"SANs"/"SANs" /' "$tmp/state/manifest.json" >"$tmp/other-manifest.json"
start_proxy "$tmp/other-manifest.json"
wait_for "verification failed: manifest mismatch" "$tmp/proxy.log"
curl -s "$proxy/verification" >"$tmp/verification.json"
if render "$proxy/dashboard" "$tmp/dom.html" not-verified; then
  ok dom-not-verified
else
  fail "dom-not-verified: the page never showed the failed state"
fi
check=$(python3 "$here/dashboard_dom_check.py" "$tmp/dom.html" "$tmp/verification.json" not-verified)
[ $? -eq 0 ] && ok dom-matches-failed-verification || fail "dom-matches-failed-verification: $check"
grep -q '<tr class="fail" data-check="manifest">' "$tmp/dom.html" && ok dom-failing-check \
  || fail "dom-failing-check: the manifest check is not shown failed"

[ $failures -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all dashboard browser checks passed"
