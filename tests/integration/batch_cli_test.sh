#!/bin/sh
# `cipherline batch` against the development backend: a 10,000-line batch
# interrupted by kill -9 at random moments and resumed until done (every
# line answered exactly once, every answer checked against its prompt, bad
# lines reported once); then a batch during which the backend is killed and
# restarted (it finishes); streamed choices and tool calls assembled as the
# unary answers; then bad flags.
set -u
bin="$1"
here=$(dirname "$0")
tmp=$(mktemp -d)
backend_pid=
cleanup() {
  [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
wait_for() {
  i=0
  until grep -q "$1" "$2" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt 600 ] && { echo "timed out waiting for '$1' in $2"; cat "$2"; exit 1; }
    sleep 0.1
  done
}
start_backend() {  # start_backend LISTEN
  : >"$tmp/backend.out"
  "$bin" backend --dev --state "$tmp/state" --listen "$1" >"$tmp/backend.out" 2>&1 &
  backend_pid=$!
  wait_for "gateway on https://" "$tmp/backend.out"
  endpoint=$(sed -n 's|.*gateway on https://\([0-9.:]*\),.*|\1|p' "$tmp/backend.out")
}
batch() {  # batch INPUT OUTPUT [FLAGS...]
  input=$1; output=$2; shift 2
  "$bin" batch --input "$input" --output "$output" --api-endpoint "$endpoint" \
    --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" "$@"
}
# start_batch LOG INPUT OUTPUT [FLAGS...]: in the background, with $pid the
# batch process itself (so that kill -9 reaches it, not a subshell).
start_batch() {
  log=$1; input=$2; output=$3; shift 3
  "$bin" batch --input "$input" --output "$output" --api-endpoint "$endpoint" \
    --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" "$@" >"$log.out" 2>"$log" &
  pid=$!
}

start_backend 127.0.0.1:0

# 10,000 requests over the three routes, and five bad lines among them.
awk 'BEGIN {
  for (i = 1; i <= 10000; i++) {
    if (i % 3 == 0)
      printf "{\"custom_id\":\"c%d\",\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"model\":\"synthetic\",\"prompt\":\"complete item %d\"}}\n", i, i
    else if (i % 7 == 0)
      printf "{\"custom_id\":\"e%d\",\"method\":\"POST\",\"url\":\"/v1/embeddings\",\"body\":{\"model\":\"synthetic\",\"input\":\"embed item %d\"}}\n", i, i
    else
      printf "{\"custom_id\":\"q%d\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"synthetic\",\"messages\":[{\"role\":\"user\",\"content\":\"question number %d\"}]}}\n", i, i
    if (i == 100) print "{not json"
    if (i == 2000) print "{\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{}}"
    if (i == 4000) print "{\"custom_id\":\"q1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":{\"model\":\"synthetic\",\"messages\":[]}}"
    if (i == 6000) print "{\"custom_id\":\"img\",\"method\":\"POST\",\"url\":\"/v1/images/generations\",\"body\":{}}"
    if (i == 8000) print "{\"custom_id\":\"get\",\"method\":\"GET\",\"url\":\"/v1/models\",\"body\":{}}"
  }
}' >"$tmp/in.jsonl"

# Interrupted three times by kill -9, at random moments, then run to the end.
for round in 1 2 3; do
  start_batch "$tmp/batch.log" "$tmp/in.jsonl" "$tmp/out.jsonl" --concurrency 64
  delay=$(awk -v seed="$$$round" 'BEGIN { srand(seed); printf "%.2f", 1.0 + rand() * 3.0 }')
  sleep "$delay"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
  echo "     killed round $round after ${delay}s with $(wc -l <"$tmp/out.jsonl") answers"
done
out=$(batch "$tmp/in.jsonl" "$tmp/out.jsonl" --concurrency 64 2>"$tmp/batch.log")
st=$?
[ $st -eq 0 ] && ok "batch-resumed" || fail "batch-resumed: status $st: $out $(tail -3 "$tmp/batch.log")"
printf '%s\n' "$out" | grep -q "skipped (answered or reported before)" && ok batch-summary || fail "batch-summary: $out"
check=$(python3 "$here/batch_check.py" "$tmp/in.jsonl" "$tmp/out.jsonl" "$tmp/out.jsonl.errors.jsonl")
[ $? -eq 0 ] && ok "exactly-once: $check" || fail "exactly-once: $check"
# A rerun has nothing left to do.
out=$(batch "$tmp/in.jsonl" "$tmp/out.jsonl" 2>/dev/null)
printf '%s\n' "$out" | grep -q "^cipherline batch: 0 succeeded, 0 failed, 0 invalid lines, 10005 skipped" \
  && ok rerun-skips-everything || fail "rerun-skips-everything: $out"

# The backend dies mid-batch and comes back on the same address: the batch
# retries with backoff, re-attests and finishes.
head -n 1500 "$tmp/in.jsonl" | grep -v 'not json' >"$tmp/in2.jsonl"
start_batch "$tmp/batch2.log" "$tmp/in2.jsonl" "$tmp/out2.jsonl" --concurrency 32 --stream \
  --max-retries 8
sleep 1
kill -9 "$backend_pid"; wait "$backend_pid" 2>/dev/null
sleep 1
start_backend "$endpoint"
wait "$pid"; st=$?
[ $st -eq 0 ] && ok "backend-restart-mid-batch: $(head -1 "$tmp/batch2.log.out")" \
  || fail "backend-restart-mid-batch: status $st: $(cat "$tmp/batch2.log.out") $(tail -5 "$tmp/batch2.log")"
check=$(python3 "$here/batch_check.py" "$tmp/in2.jsonl" "$tmp/out2.jsonl" "$tmp/out2.jsonl.errors.jsonl")
[ $? -eq 0 ] && ok "restart-exactly-once: $check" || fail "restart-exactly-once: $check"
grep -q "time to first token p50" "$tmp/batch2.log.out" && ok stream-ttft || fail "stream-ttft: $(cat "$tmp/batch2.log.out")"

# --rate spaces the starts: 20 requests at 10/s take at least 1.9 s.
head -n 20 "$tmp/in2.jsonl" >"$tmp/in3.jsonl"
out=$(batch "$tmp/in3.jsonl" "$tmp/out3.jsonl" --rate 10 2>/dev/null)
wall=$(printf '%s\n' "$out" | sed -n 's/.*wall time \([0-9.]*\) s.*/\1/p')
awk -v w="$wall" 'BEGIN { exit !(w >= 1.9) }' && ok "rate-limited: ${wall}s for 20 at 10/s" \
  || fail "rate-limited: wall time '$wall' for 20 requests at 10/s: $out"

# SIGTERM stops the batch with status 130 and the lines in flight unwritten;
# a rerun finishes it, each line once.
start_batch "$tmp/batch4.log" "$tmp/in3.jsonl" "$tmp/out4.jsonl" --rate 5
sleep 1.5
kill -TERM "$pid"; wait "$pid"; st=$?
written=$(wc -l <"$tmp/out4.jsonl")
[ $st -eq 130 ] && [ "$written" -lt 20 ] && grep -q "interrupted" "$tmp/batch4.log" \
  && ok "sigterm-exit-130: $written of 20 written" \
  || fail "sigterm-exit-130: status $st, $written written: $(cat "$tmp/batch4.log")"
batch "$tmp/in3.jsonl" "$tmp/out4.jsonl" >/dev/null 2>&1; st=$?
check=$(python3 "$here/batch_check.py" "$tmp/in3.jsonl" "$tmp/out4.jsonl" "$tmp/out4.jsonl.errors.jsonl")
cs=$?
[ $st -eq 0 ] && [ $cs -eq 0 ] && ok "sigterm-resumed: $check" || fail "sigterm-resumed: status $st: $check"

# A backend that stays away stops the batch (status 1, the reason) instead
# of failing every remaining line for good; once it is back, a rerun
# finishes, each line once.
head -n 40 "$tmp/in2.jsonl" >"$tmp/in5.jsonl"
start_batch "$tmp/batch5.log" "$tmp/in5.jsonl" "$tmp/out5.jsonl" --rate 20 --max-retries 1
sleep 1
kill -9 "$backend_pid"; wait "$backend_pid" 2>/dev/null
wait "$pid"; st=$?
written=$(wc -l <"$tmp/out5.jsonl")
[ $st -eq 1 ] && [ "$written" -lt 40 ] && grep -q "could not be reached" "$tmp/batch5.log" \
  && ! grep -q connection_failed "$tmp/out5.jsonl" \
  && ok "unreachable-stops: $written of 40 written" \
  || fail "unreachable-stops: status $st, $written written: $(tail -3 "$tmp/batch5.log")"
start_backend "$endpoint"
batch "$tmp/in5.jsonl" "$tmp/out5.jsonl" >/dev/null 2>&1; st=$?
check=$(python3 "$here/batch_check.py" "$tmp/in5.jsonl" "$tmp/out5.jsonl" "$tmp/out5.jsonl.errors.jsonl")
cs=$?
[ $st -eq 0 ] && [ $cs -eq 0 ] && ok "unreachable-resumed: $check" || fail "unreachable-resumed: status $st: $check"

# --stream puts several choices and streamed tool calls back together as the
# unary answers have them.
cat >"$tmp/in6.jsonl" <<'EOF'
{"custom_id":"n2","method":"POST","url":"/v1/chat/completions","body":{"model":"synthetic","n":2,"messages":[{"role":"user","content":"two ways"}]}}
{"custom_id":"tools","method":"POST","url":"/v1/chat/completions","body":{"model":"synthetic","n":2,"tool_choice":"required","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}],"messages":[{"role":"user","content":"rain in rome"}]}}
EOF
batch "$tmp/in6.jsonl" "$tmp/out6.jsonl" >/dev/null 2>&1; st=$?
batch "$tmp/in6.jsonl" "$tmp/out6s.jsonl" --stream >/dev/null 2>&1; sst=$?
check=$(python3 - "$tmp/out6.jsonl" "$tmp/out6s.jsonl" <<'PY'
import json, sys
def bodies(path):
    return {l["custom_id"]: l["response"]["body"] for l in map(json.loads, open(path))}
whole, streamed = bodies(sys.argv[1]), bodies(sys.argv[2])
problems = []
for cid in ("n2", "tools"):
    if whole[cid]["choices"] != streamed[cid]["choices"]:
        problems.append(f"{cid}: streamed {streamed[cid]['choices']} != whole {whole[cid]['choices']}")
    if whole[cid]["usage"] != streamed[cid]["usage"]:
        problems.append(f"{cid}: usage {streamed[cid]['usage']} != {whole[cid]['usage']}")
texts = [c["message"]["content"] for c in streamed["n2"]["choices"]]
if texts != ["two ways", "two ways [1]"]:
    problems.append(f"n2 choices: {texts}")
for c in streamed["tools"]["choices"]:
    call = c["message"]["tool_calls"][0]
    city = json.loads(call["function"]["arguments"])["city"]
    if c["finish_reason"] != "tool_calls" or call["function"]["name"] != "get_weather" \
            or not city.startswith("rain in rome"):
        problems.append(f"tool call: {c}")
print("; ".join(problems) or "2 choices apart, tool calls with JSON arguments, as unary")
sys.exit(1 if problems else 0)
PY
)
cs=$?
[ $st -eq 0 ] && [ $sst -eq 0 ] && [ $cs -eq 0 ] && ok "stream-assembles-choices-and-tool-calls: $check" \
  || fail "stream-assembles-choices-and-tool-calls: status $st/$sst: $check"

# Bad flags and files.
out=$(batch "$tmp/none.jsonl" "$tmp/o.jsonl" 2>&1); st=$?
[ $st -eq 2 ] && printf '%s' "$out" | grep -q "does not exist" && ok missing-input || fail "missing-input: $st $out"
printf 'garbage\n' >"$tmp/foreign.jsonl"
out=$(batch "$tmp/in2.jsonl" "$tmp/foreign.jsonl" 2>&1); st=$?
[ $st -eq 1 ] && printf '%s' "$out" | grep -q "line 1 is not a batch result line" && ok foreign-output-refused \
  || fail "foreign-output-refused: $st $out"

[ $failures -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all batch checks passed"
