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

[ "$failures" -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
