#!/bin/sh
# Captures and `cipherline verify capture`: the proxy records every
# attestation; the capture re-verifies offline (with the development roots,
# at the captured time); each kind of tampering — a byte of the report, of
# the collateral, of the index; a deleted, an inserted or a reordered line;
# a deleted capture; an added file — fails naming the check that caught
# it; pruning keeps the chain verifiable; --no-capture keeps the manifest
# log only; the real SEV-SNP vectors packaged as a capture verify too;
# captures hold no prompt, token or API key.
set -u
bin="$1"
vectors="$2"
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
check() {  # check NAME EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
  name="$1"; want_status="$2"; want_text="$3"; shift 4
  out=$("$@" 2>&1); status=$?
  if [ "$status" -ne "$want_status" ]; then
    fail "$name: exit status $status, expected $want_status; output: $(printf '%s' "$out" | tail -20)"
  elif ! printf '%s' "$out" | grep -qF -- "$want_text"; then
    fail "$name: output lacks '$want_text': $(printf '%s' "$out" | tail -20)"
  else
    ok "$name"
  fi
}
wait_for() {  # wait_for PATTERN FILE
  waited=0
  until grep -q "$1" "$2" 2>/dev/null; do
    waited=$((waited + 1)); [ $waited -gt 600 ] && { echo "timed out waiting for '$1' in $2"; cat "$2"; exit 1; }
    sleep 0.1
  done
}
start_proxy() {  # start_proxy WORKSPACE [FLAGS...]
  : >"$tmp/proxy.log"
  ws=$1; shift
  "$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" \
    --dev-trust "$tmp/state" --api-key "$api_key" --port 0 --workspace "$ws" "$@" \
    >/dev/null 2>>"$tmp/proxy.log" &
  proxy_pid=$!
  wait_for "listening on http" "$tmp/proxy.log"
  proxy=$(sed -n 's|.*listening on \(https*://[0-9.]*:[0-9]*\).*|\1|p' "$tmp/proxy.log" | tail -1)
  wait_for "backend verified" "$tmp/proxy.log"
}
stop_proxy() { kill "$proxy_pid"; wait "$proxy_pid" 2>/dev/null; proxy_pid=; }
verify() { "$bin" verify capture "$@"; }

api_key="capture-test-key-0f3a9c51d2e84b67"
echo "$api_key" >"$tmp/api-keys"
"$bin" backend --dev --state "$tmp/state" --listen 127.0.0.1:0 --secret-store file \
  --api-keys "$tmp/api-keys" >"$tmp/backend.out" 2>>"$tmp/backend.log" &
backend_pid=$!
wait_for "gateway on https://" "$tmp/backend.out"
endpoint=$(sed -n 's|.*gateway on https://\([0-9.:]*\),.*|\1|p' "$tmp/backend.out")
prompt="the capture must never hold this prompt 7d41c0"

# Three proxies, three attestations; a streamed request through each.
ws="$tmp/ws"
for n in 1 2 3; do
  start_proxy "$ws"
  curl -s "$proxy/v1/chat/completions" -H 'Content-Type: application/json' \
    -d "{\"model\":\"synthetic\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$prompt\"}]}" \
    >"$tmp/answer$n.txt"
  stop_proxy
done
[ "$(wc -l <"$ws/manifests/log.txt")" -eq 3 ] && ok three-lines || fail "three-lines: $(cat "$ws/manifests/log.txt")"
[ "$(ls "$ws/captures" | wc -l)" -eq 3 ] && ok three-captures || fail "three-captures: $(ls "$ws/captures")"
check verified 0 "3 captures (3 accepted, 0 rejected), 3 index lines: all verified" -- verify "$ws" --dev-trust "$tmp/state"
check verified-json 0 '"passed":true' -- verify "$ws" --dev-trust "$tmp/state" --json
check exchange-checked 0 "PASS exchange: signed by the attested mesh CA" -- verify "$ws" --dev-trust "$tmp/state"
check no-dev-trust 1 "FAIL development root: expected" -- verify "$ws"
check at-far-future 1 "certificate chain" -- verify "$ws" --dev-trust "$tmp/state" --at 2090-01-01T00:00:00Z

# Nothing secret or private in a capture: not the prompt, not a token of
# the answer, not the API key.
# The answer's text (its tokens joined): too long to occur by chance.
token=$(sed -n 's/.*"content":"\([^"]*\)".*/\1/p' "$tmp/answer1.txt" | tr -d '\n')
[ ${#token} -gt 20 ] || fail "no answer text to look for: $(head -c 300 "$tmp/answer1.txt")"
leaks=""
for secret in "$prompt" "${token:-no token}" "$api_key"; do
  grep -rqF -- "$secret" "$ws" && leaks="$leaks [$secret]"
done
[ -z "$leaks" ] && ok no-prompt-token-or-key || fail "captures hold:$leaks"

# Tampering: each on a fresh copy, each caught by its own check.
first=$(sed -n '1p' "$ws/manifests/log.txt" | cut -d' ' -f5)
second=$(sed -n '2p' "$ws/manifests/log.txt" | cut -d' ' -f5)
copy() { rm -rf "$tmp/t"; cp -r "$ws" "$tmp/t"; }
flip() {  # flip FILE OFFSET: changes one byte
  byte=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null)
  if [ "$byte" = "0" ]; then new=1; else new=0; fi
  printf '%s' "$new" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}
copy; flip "$tmp/t/captures/$first/report.json" 40
check tamper-report 1 "FAIL capture $first (index line 1): file report.json" -- \
  verify "$tmp/t" --dev-trust "$tmp/state"
copy; flip "$tmp/t/captures/$first/collateral/vcek.der" 100
check tamper-collateral 1 "FAIL capture $first (index line 1): file collateral/vcek.der" -- \
  verify "$tmp/t" --dev-trust "$tmp/state"
copy; flip "$tmp/t/captures/$second/attest_response.json" 60
check tamper-evidence 1 "file attest_response.json" -- verify "$tmp/t" --dev-trust "$tmp/state"
copy; flip "$tmp/t/captures/$first/capture.json" 30
check tamper-descriptor 1 "capture ID" -- verify "$tmp/t" --dev-trust "$tmp/state"
# A hash digit of line 2's previous-line field.
copy; flip "$tmp/t/manifests/log.txt" "$(( $(sed -n '1p' "$ws/manifests/log.txt" | wc -c) + 21 + 5 ))"
check tamper-index 1 "index line 2 chains" -- verify "$tmp/t" --dev-trust "$tmp/state"
# The last line's time: no line after it, but its capture disagrees.
copy; last=$(sed -n '3p' "$ws/manifests/log.txt")
sed -i '3s/^\(....\)-\(..\)/\1-01/' "$tmp/t/manifests/log.txt"
[ "$(sed -n '3p' "$tmp/t/manifests/log.txt")" != "$last" ] || sed -i '3s/^\(....\)-\(..\)/\1-02/' "$tmp/t/manifests/log.txt"
check tamper-last-time 1 "index time" -- verify "$tmp/t" --dev-trust "$tmp/state"
copy; sed -i '2d' "$tmp/t/manifests/log.txt"
check deleted-line 1 "index line 2 chains" -- verify "$tmp/t" --dev-trust "$tmp/state"
copy; sed -i '3d' "$tmp/t/manifests/log.txt"
check deleted-last-line 1 "not in the index" -- verify "$tmp/t" --dev-trust "$tmp/state"
copy; sed -n '1p' "$ws/manifests/log.txt" >"$tmp/line1"; sed -i "2r $tmp/line1" "$tmp/t/manifests/log.txt"
check inserted-line 1 "index line 3 numbered" -- \
  verify "$tmp/t" --dev-trust "$tmp/state"
copy; { sed -n '2p' "$ws/manifests/log.txt"; sed -n '1p' "$ws/manifests/log.txt"; } >"$tmp/swap"
sed -i '1,2d' "$tmp/t/manifests/log.txt"; cat "$tmp/swap" "$tmp/t/manifests/log.txt" >"$tmp/t/manifests/log.new"
mv "$tmp/t/manifests/log.new" "$tmp/t/manifests/log.txt"
check reordered-lines 1 "index line 1 chains" -- verify "$tmp/t" --dev-trust "$tmp/state"
copy; rm -rf "$tmp/t/captures/$second"
check deleted-capture 1 "FAIL capture $second (index line 2): capture present" -- \
  verify "$tmp/t" --dev-trust "$tmp/state"
copy; echo extra >"$tmp/t/captures/$first/collateral/extra.pem"
check added-file 1 "no unlisted files" -- verify "$tmp/t" --dev-trust "$tmp/state"
copy; printf 'not a line\n' >>"$tmp/t/manifests/log.txt"
check malformed-index 2 "log.txt: line 4: has 3 fields" -- verify "$tmp/t" --dev-trust "$tmp/state"
check missing-dir 2 "cannot be read" -- verify "$tmp/nowhere"
copy; : >"$tmp/t/manifests/log.txt"
check empty-index 1 "FAIL index $tmp/t/manifests/log.txt: index has lines" -- \
  verify "$tmp/t" --dev-trust "$tmp/state"
# A directory name that would drive the terminal is shown, not obeyed.
copy; mkdir "$tmp/t/captures/$(printf 'evil\033[2J')"
check control-characters 1 'captures/evil\x1b[2J indexed' -- verify "$tmp/t" --dev-trust "$tmp/state"
# A link where a file was: named, not followed.
copy; mv "$tmp/t/captures/$first/report.json" "$tmp/report.json"
ln -s "$tmp/report.json" "$tmp/t/captures/$first/report.json"
check linked-file 1 "a symbolic link" -- verify "$tmp/t" --dev-trust "$tmp/state"

# --anchor: an index head kept from an earlier run.
head2=$(sed -n '2p' "$ws/manifests/log.txt" | tr -d '\n' | sha256sum | cut -d' ' -f1)
check head-printed 0 "index head: 3:" -- verify "$ws" --dev-trust "$tmp/state"
check anchor-holds 0 "PASS anchor line 2: $head2" -- verify "$ws" --dev-trust "$tmp/state" --anchor "2:$head2"
copy; flip "$tmp/t/manifests/log.txt" "$(( $(sed -n '1p' "$ws/manifests/log.txt" | wc -c) + 3 ))"
check anchor-broken 1 "FAIL anchor line 2" -- verify "$tmp/t" --dev-trust "$tmp/state" --anchor "2:$head2"
check anchor-beyond 1 "the index has 3 lines" -- verify "$ws" --dev-trust "$tmp/state" --anchor "9:$head2"
check anchor-malformed 2 "is not LINE:SHA256" -- verify "$ws" --anchor "2:xyz"
# Someone with write access "prunes" line 1 after the anchor: the chain
# holds, but the report says what went since the anchor.
copy; prev=$(sed -n '3p' "$ws/manifests/log.txt" | tr -d '\n' | sha256sum | cut -d' ' -f1)
echo "2026-12-03T00:00:00Z $prev pruned 1 $first" >>"$tmp/t/manifests/log.txt"
rm -rf "$tmp/t/captures/$first" "$tmp/t/manifests/1.json"
check anchor-pruned-since 0 "captures up to the anchor pruned since: 1" -- \
  verify "$tmp/t" --dev-trust "$tmp/state" --anchor "2:$head2"
check policy-claimed 0 "policy: development root" -- verify "$ws" --dev-trust "$tmp/state"
check no-dir 2 "expects the capture directory" -- "$bin" verify capture --json

# A proxy refuses to extend an edited index.
copy; flip "$tmp/t/manifests/log.txt" "$(( $(sed -n '1p' "$ws/manifests/log.txt" | wc -c) + 21 + 5 ))"
: >"$tmp/proxy.log"
"$bin" proxy --api-endpoint "$endpoint" --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" \
  --api-key "$api_key" --port 0 --workspace "$tmp/t" >/dev/null 2>>"$tmp/proxy.log" &
proxy_pid=$!
wait_for "does not chain" "$tmp/proxy.log" && ok proxy-refuses-edited-index
stop_proxy

# Pruning: --capture-keep 2 over four attestations; the chain still verifies.
for i in 1 2; do start_proxy "$tmp/pruned" --capture-keep 2; stop_proxy; done
for i in 1 2; do start_proxy "$tmp/pruned" --capture-keep 2; stop_proxy; done
[ "$(ls "$tmp/pruned/captures" | wc -l)" -eq 2 ] && ok pruned-to-two || fail "pruned-to-two: $(ls "$tmp/pruned/captures")"
grep -q " pruned 1 " "$tmp/pruned/manifests/log.txt" && grep -q " pruned 2 " "$tmp/pruned/manifests/log.txt" \
  && ok pruned-lines || fail "pruned-lines: $(cat "$tmp/pruned/manifests/log.txt")"
check pruned-verifies 0 "2 captures (2 accepted, 0 rejected), 6 index lines: all verified" -- verify "$tmp/pruned" --dev-trust "$tmp/state"
cp -r "$tmp/pruned" "$tmp/t2"; sed -i '$d' "$tmp/t2/manifests/log.txt"
check pruned-line-deleted 1 "(index line 2): capture present" -- verify "$tmp/t2" --dev-trust "$tmp/state"

# --no-capture: the manifest log alone, as before captures.
start_proxy "$tmp/nocap" --no-capture; stop_proxy
[ ! -e "$tmp/nocap/captures" ] && [ "$(cut -d' ' -f4- "$tmp/nocap/manifests/log.txt")" = "1.json" ] \
  && ok no-capture || fail "no-capture: $(ls "$tmp/nocap"; cat "$tmp/nocap/manifests/log.txt")"
check no-capture-verifies 0 "0 captures (0 accepted, 0 rejected), 1 index lines: all verified" -- verify "$tmp/nocap"

# The real SEV-SNP vectors (go-sev-guest's Milan report) packaged as a
# capture by `verify snp --capture-dir`, then re-verified.
snp="$vectors/attest/vectors/snp"
check snp-captured 0 "captured as" -- "$bin" verify snp --report "$snp/milan_go_sev_guest_report.bin" \
  --vcek "$snp/milan_go_sev_guest_vcek.der" --at 2026-06-01T00:00:00Z --capture-dir "$tmp/real"
check snp-captured-again 0 "captured as" -- "$bin" verify snp --report "$snp/milan_gcp_v5_report.bin" \
  --vcek "$snp/milan_gcp_vcek.pem" --at 2026-06-01T00:00:00Z --capture-dir "$tmp/real"
check real-vectors 0 "2 captures (2 accepted, 0 rejected), 2 index lines: all verified" -- verify "$tmp/real"
check real-vectors-chip 0 "PASS report signature" -- verify "$tmp/real"
check real-vectors-later 1 "certificate chain" -- verify "$tmp/real" --at 2090-01-01T00:00:00Z
check snp-crl-fail-open 0 "captured as" -- "$bin" verify snp --report "$snp/milan_go_sev_guest_report.bin" \
  --vcek "$snp/milan_go_sev_guest_vcek.der" --at 2026-06-01T00:00:00Z --crl-fail-open \
  --capture-dir "$tmp/relaxed"
check relaxed-verifies 0 "AMD CRL fail-open" -- verify "$tmp/relaxed"
check relaxed-strict 1 "FAIL policy strict" -- verify "$tmp/relaxed" --strict
check real-strict 0 "all verified" -- verify "$tmp/real" --strict
real_id=$(sed -n '1p' "$tmp/real/manifests/log.txt" | cut -d' ' -f5)
flip "$tmp/real/captures/$real_id/report.bin" 700
check real-vectors-tampered 1 "file report.bin" -- verify "$tmp/real"

[ "$failures" -eq 0 ] || { echo "$failures failures"; exit 1; }
echo "all capture checks passed"
