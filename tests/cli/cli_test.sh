#!/bin/sh
# Command-line contract of `cipherline`: exit codes and the messages of bad use.
set -u
bin="$1"
failures=0

check() {  # check NAME EXPECTED_STATUS EXPECTED_TEXT -- COMMAND...
  name="$1"; want_status="$2"; want_text="$3"; shift 4
  out=$("$@" 2>&1); status=$?
  if [ "$status" -ne "$want_status" ]; then
    echo "FAIL $name: exit status $status, expected $want_status; output: $out"
    failures=$((failures + 1))
  elif ! printf '%s' "$out" | grep -qF -- "$want_text"; then
    echo "FAIL $name: output lacks '$want_text': $out"
    failures=$((failures + 1))
  else
    echo "ok   $name"
  fi
}

check version 0 "cipherline 0." -- "$bin" --version
check help 0 "bench echo" -- "$bin" --help
check no-arguments 2 "usage: cipherline" -- "$bin"
check unknown-command 2 "unknown command 'frobnicate'" -- "$bin" frobnicate
check bench-echo-help 0 "--connections N" -- "$bin" bench echo --help
check unknown-flag 2 "unknown flag --colour" -- "$bin" bench echo --colour
check missing-value 2 "--size needs a value" -- "$bin" bench echo --size
check bad-size 2 "--size expects a size like 4096, 16K or 1M, got '12Q'" -- "$bin" bench echo --size 12Q
check size-range 2 "--size must be between 1 and 16777216 bytes" -- "$bin" bench echo --size 17M
check bad-count 2 "--connections expects a whole number, got 'many'" -- "$bin" bench echo --connections many
check bad-seconds 2 "--seconds expects a number of seconds" -- "$bin" bench echo --seconds=soon
check bad-address 2 "--address expects a numeric IP:PORT" -- "$bin" bench echo --address localhost:1
check echo-runs 0 "latency       p50" -- "$bin" bench echo --seconds 0.2 --connections 2 --size 1K

# crypto: the field format round trip, the worked example's key and nonce,
# X-Wing known answer, HPKE sender/recipient agreement, exit statuses.
key=$(printf '42%.0s' $(seq 32))
nonce=000102030405060708090a0b
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[{"role":"user","content":"Hello"}]' >"$tmp/plain"
"$bin" crypto seal-field --key "$key" --id 123 --nonce "$nonce" --seq 0 <"$tmp/plain" >"$tmp/field"
check seal-field-shape 0 '"123:000102030405060708090a0b:' -- cat "$tmp/field"
"$bin" crypto open-field --key "$key" --nonce "$nonce" --seq 0 <"$tmp/field" >"$tmp/back"
if cmp -s "$tmp/plain" "$tmp/back"; then echo "ok   open-field-exact-bytes"; else echo "FAIL open-field-exact-bytes"; failures=$((failures + 1)); fi
check open-field-wrong-seq 1 "authentication failed" -- sh -c "\"$bin\" crypto open-field --key $key --nonce $nonce --seq 1 <\"$tmp/field\""
check open-field-example 0 '[{"role":"user","content":"Hello"}]' -- sh -c "printf '%s' '\"123:000102030405060708090a0b:101112131415161718191a1b:09828bdac0665a079cbd29b5194163f321815c2f17ffbf16038cef13089c348bc56daba978205afbffac989e80013c912c32cd\"' | \"$bin\" crypto open-field --key $key --nonce $nonce --seq 0"
check open-field-malformed 1 "encrypted field has 3 parts" -- sh -c "echo '\"a:b:c\"' | \"$bin\" crypto open-field --key $key --nonce $nonce --seq 0"
check short-key 2 "--key must be 32 bytes (64 hex digits), got 31" -- "$bin" crypto open-field --key "${key%??}" --nonce "$nonce" --seq 0
check odd-key 2 "--key: odd number of hex digits (63)" -- "$bin" crypto seal-field --key "${key%?}" --id 1 --nonce "$nonce" --seq 0
check missing-flag 2 "--nonce is required" -- "$bin" crypto seal-field --key "$key" --id 1 --seq 0

seed=01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da
check xwing-known-answer 0 '"public_key":"RzcOezY0cFZd18yqXSpm4QRL8riKbnbH7LptcHspiqBj' -- "$bin" crypto xwing-keygen --seed "$seed"
pk=$("$bin" crypto xwing-keygen --seed "$seed" | sed 's/.*"public_key":"\([^"]*\)".*/\1/')
encap=$("$bin" crypto hpke-encap --public-key "$pk")
enc=$(printf '%s' "$encap" | sed 's/.*"enc":"\([^"]*\)".*/\1/')
secret=$(printf '%s' "$encap" | sed 's/.*"secret":"\([^"]*\)".*/\1/')
check hpke-decap-agrees 0 "{\"secret\":\"$secret\"}" -- "$bin" crypto hpke-decap --seed "$seed" --enc "$enc"
check hpke-length 0 '"secret":"' -- "$bin" crypto hpke-decap --seed "$seed" --enc "$enc" --length 64
check hpke-bad-public-key 1 "X-Wing public key must be 1216 bytes, got 3" -- "$bin" crypto hpke-encap --public-key Zm9v
check hpke-bad-base64 2 "--enc: invalid base64" -- "$bin" crypto hpke-decap --seed "$seed" --enc 'Zm9v!!!!'
check secret-id 0 "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=" -- "$bin" crypto secret-id --public-key YWJj

# OAE streams (privatemode-oae.md §1): the spec's known answers, round trips
# through both roles, and each named failure.
oae_secret=4242424242424242424242424242424242424242424242424242424242424242
oae_req=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
oae_resp=202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
kat_req=01505152535455565758595a5b3e7fab5fec24ed5e6932cb043da579fd68fd069ae400cc3dee3c31f132
kat_resp0=00606162636465666768696a6b573d429cb9f6f78d613d3d508576d1aba9592473f43acc60546b
kat_resp1=01707172737475767778797a7ba92821c098a6f6e19edbf1af68ea85f8
check oae-open-known-request 0 '"{\"model\":\"m\"}"' -- sh -c "echo $kat_req | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req"
check oae-open-known-response 0 '"data: {}\n\n"' -- sh -c "printf '%s\n%s\n' $kat_resp0 $kat_resp1 | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req --response-header $oae_resp"
check oae-open-truncated 1 "truncated" -- sh -c "echo $kat_resp0 | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req --response-header $oae_resp"
check oae-open-truncated-keeps-output 1 '"data: {}\n\n"' -- sh -c "echo $kat_resp0 | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req --response-header $oae_resp"
check oae-open-reordered 1 "authentication failed" -- sh -c "printf '%s\n%s\n' $kat_resp1 $kat_resp0 | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req --response-header $oae_resp"
check oae-open-after-final 1 "closed" -- sh -c "printf '%s\n%s\n' $kat_req $kat_req | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req"
check oae-open-bad-flag 1 "malformed" -- sh -c "echo 02${kat_req#01} | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req"
check oae-open-short 1 "malformed" -- sh -c "echo 0150515253 | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req"
check oae-open-bad-hex 2 "line 1: " -- sh -c "echo xyz | \"$bin\" crypto oae-open --secret $oae_secret --request-header $oae_req"
check oae-open-no-request-header 2 "--request-header is required" -- "$bin" crypto oae-open --secret $oae_secret
check oae-seal-short-secret 2 "--secret must be 32 bytes" -- "$bin" crypto oae-seal --secret 4242
check oae-seal-not-json 2 "line 1: expected one JSON string" -- sh -c "echo 'plain' | \"$bin\" crypto oae-seal --secret $oae_secret"
printf '"{\\"model\\":\\"m\\"}"\n' | "$bin" crypto oae-seal --secret $oae_secret >"$tmp/oae-req"
req_header=$(head -1 "$tmp/oae-req")
check oae-round-trip-request 0 '"{\"model\":\"m\"}"' -- sh -c "tail -n +2 \"$tmp/oae-req\" | \"$bin\" crypto oae-open --secret $oae_secret --request-header $req_header"
printf '"data: a\\n\\n"\n"data: [DONE]\\n\\n"\n' | "$bin" crypto oae-seal --secret $oae_secret --request-header "$req_header" >"$tmp/oae-resp"
resp_header=$(head -1 "$tmp/oae-resp")
check oae-round-trip-response 0 '"data: [DONE]\n\n"' -- sh -c "tail -n +2 \"$tmp/oae-resp\" | \"$bin\" crypto oae-open --secret $oae_secret --request-header $req_header --response-header $resp_header"
check oae-wrong-stream 1 "authentication failed" -- sh -c "tail -n +2 \"$tmp/oae-resp\" | \"$bin\" crypto oae-open --secret $oae_secret --request-header $req_header"

# --api-key KEY|@FILE, with CIPHERLINE_API_KEY as its default: an unreadable
# or empty key file is a usage error naming the file and where it came from.
printf '{}' >"$tmp/manifest.json"
: >"$tmp/empty-key"
printf 'key-from-file\n' >"$tmp/key"
for cmd in proxy batch; do
  if [ "$cmd" = batch ]; then io="--input $tmp/manifest.json --output $tmp/out.jsonl"; else io=""; fi
  # shellcheck disable=SC2086
  check "$cmd-api-key-missing-file" 2 "--api-key: cannot read the key file $tmp/nope" -- \
    "$bin" $cmd $io --api-endpoint 127.0.0.1:1 --manifest "$tmp/manifest.json" --api-key "@$tmp/nope"
  # shellcheck disable=SC2086
  check "$cmd-api-key-empty-file" 2 "--api-key: the key file $tmp/empty-key is empty" -- \
    "$bin" $cmd $io --api-endpoint 127.0.0.1:1 --manifest "$tmp/manifest.json" --api-key "@$tmp/empty-key"
  # shellcheck disable=SC2086
  check "$cmd-api-key-env-file" 2 "CIPHERLINE_API_KEY: cannot read the key file $tmp/nope" -- \
    env CIPHERLINE_API_KEY="@$tmp/nope" "$bin" $cmd $io --api-endpoint 127.0.0.1:1 --manifest "$tmp/manifest.json"
  # The flag wins over the environment.
  # shellcheck disable=SC2086
  check "$cmd-api-key-flag-over-env" 2 "--api-key: the key file $tmp/empty-key is empty" -- \
    env CIPHERLINE_API_KEY="@$tmp/nope" "$bin" $cmd $io --api-endpoint 127.0.0.1:1 \
    --manifest "$tmp/manifest.json" --api-key "@$tmp/empty-key"
  check "$cmd-help-names-env" 0 "CIPHERLINE_API_KEY" -- "$bin" $cmd --help
done
check proxy-help-dump 0 "--dump-requests DIR" -- "$bin" proxy --help

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
