#!/bin/sh
# `cipherline backend --dev --role …`: each role in a process of its own, on
# one machine, sharing secrets through a real etcd; every internal hop mTLS
# with mesh certificates. The proxy and curl then use it like the
# all-in-one backend. Checks the order of trust: a worker serves nothing
# before the agent attested its GPU; a restarted worker is attested again.
set -u
bin="$1"
failures=0
tmp=$(mktemp -d)
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null; done
  for p in $pids; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $1"; }
fail() { echo "FAIL $1"; failures=$((failures + 1)); }
expect() { if printf '%s' "$3" | grep -qF -- "$2"; then ok "$1"; else fail "$1: lacks '$2': $3"; fi; }
wait_for() {  # wait_for PATTERN FILE
  i=0
  until grep -q "$1" "$2" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 600 ]; then echo "timed out waiting for '$1' in $2:"; cat "$2"; exit 1; fi
    sleep 0.1
  done
}
# role NAME ARGS...: starts a role, waits for its address, sets $url.
role() {
  name=$1; shift
  "$bin" backend --dev --state "$tmp/state" --role "$@" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  pids="$pids $!"
  last_pid=$!
  case $name in
    agent) wait_for "attesting" "$tmp/$name.out" ;;
    *) wait_for " on http" "$tmp/$name.out" ;;
  esac
  url=$(sed -n 's|.* on \(https*://[0-9.:]*\).*|\1|p' "$tmp/$name.out" | head -1)
}

# A private etcd on a free pair of ports.
[ -x /usr/bin/etcd ] || { echo "FAIL /usr/bin/etcd is not installed: run scripts/setup-deps"; exit 1; }
for attempt in 1 2 3 4 5; do
  port=$((20000 + ($$ * 7 + attempt * 977) % 40000))
  /usr/bin/etcd --name roles --data-dir "$tmp/etcd" \
    --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
    --listen-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((port + 1))" \
    --initial-cluster "roles=http://127.0.0.1:$((port + 1))" >"$tmp/etcd.log" 2>&1 &
  etcd_pid=$!
  i=0
  until curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1; do
    i=$((i + 1)); [ $i -gt 100 ] && break; sleep 0.1
  done
  if [ $i -le 100 ]; then pids="$pids $etcd_pid"; break; fi
  kill "$etcd_pid" 2>/dev/null; wait "$etcd_pid" 2>/dev/null; rm -rf "$tmp/etcd"
done
etcd="etcd://127.0.0.1:$port"

role coordinator coordinator --listen 127.0.0.1:0
coordinator=$url
expect coordinator-https "https://" "$coordinator"
role model model --listen 127.0.0.1:0
model=$url
role secret-service secret-service --listen 127.0.0.1:0 --coordinator "$coordinator" --secret-store "$etcd"
secret_service=$url
role worker worker --listen 127.0.0.1:0 --coordinator "$coordinator" --secret-store "$etcd" --upstream "$model"
worker=$url
worker_pid=$last_pid
role gateway gateway --listen 127.0.0.1:0 --coordinator "$coordinator" \
  --secret-service "$secret_service" --worker "synthetic=$worker"
gateway=${url#https://}

# Internal hops need a mesh certificate: a client without one is refused.
if curl -s --cacert "$tmp/state/dev-ca.pem" "$worker/internal/status" >/dev/null 2>&1 ||
   curl -sk "$worker/internal/status" >/dev/null 2>&1; then
  fail "worker-requires-mtls: answered a client without a mesh certificate"
else
  ok worker-requires-mtls
fi
# Nor can a client with the gateway's mesh certificate activate a worker.
out=$(curl -s --cacert "$tmp/state/private/mesh-gateway-ca.pem" --cert "$tmp/state/private/mesh-gateway.pem" \
  --key "$tmp/state/private/mesh-gateway-key.pem" --resolve "worker:${worker##*:}:127.0.0.1" \
  "$worker/internal/activate" -d '{"Nonce":"x","Statuses":"[]","Certificate":"","Signature":""}' 2>&1)
expect activation-needs-agent "activation refused" "$out"

"$bin" proxy --api-endpoint "$gateway" --manifest "$tmp/state/manifest.json" --dev-trust "$tmp/state" \
  --api-key dev --port 0 --workspace "$tmp/ws" >/dev/null 2>"$tmp/proxy.log" &
pids="$pids $!"
wait_for "listening on http://" "$tmp/proxy.log"
proxy="http://127.0.0.1:$(sed -n 's|.*listening on http://[0-9.]*:\([0-9]*\).*|\1|p' "$tmp/proxy.log")"
i=0
until curl -sf "$proxy/healthz" >/dev/null; do
  i=$((i + 1)); [ $i -gt 300 ] && { fail "proxy never verified: $(cat "$tmp/proxy.log")"; break; }
  sleep 0.1
done

chat() { curl -s "$proxy/v1/chat/completions" -d "{\"model\":\"synthetic\"$2,\"messages\":[{\"role\":\"user\",\"content\":\"$1\"}]}"; }
out=$(chat "before the agent" "")
expect inactive-before-agent "is not activated" "$out"

role agent agent --coordinator "$coordinator" --worker "$worker"
wait_for "PASS GPUs of" "$tmp/agent.out"
ok agent-attested-worker
out=$(chat "split across processes" "")
expect chat '"content":"split across processes"' "$out"
out=$(chat "streamed across processes" ',"stream":true')
expect chat-stream '"content":"processes"' "$out"

# The worker restarts on its port: inactive until the agent attests it
# again; the secret comes from etcd (no new exchange).
worker_port=${worker##*:}
kill "$worker_pid"; wait "$worker_pid" 2>/dev/null
before=$(grep -c "PASS GPUs of" "$tmp/agent.out")
role worker2 worker --listen "127.0.0.1:$worker_port" --coordinator "$coordinator" --secret-store "$etcd" --upstream "$model"
i=0
until [ "$(grep -c "PASS GPUs of" "$tmp/agent.out")" -gt "$before" ]; do
  i=$((i + 1)); [ $i -gt 100 ] && { fail "agent did not attest the restarted worker"; break; }
  sleep 0.1
done
[ $i -le 100 ] && ok agent-reattested-worker
out=$(chat "after the worker restarted" "")
expect chat-after-restart '"content":"after the worker restarted"' "$out"
out=$(curl -s "$proxy/metrics")
expect one-exchange "cipherline_proxy_exchange_seconds_count 1" "$out"

# A role that cannot be admitted says why.
out=$("$bin" backend --dev --state "$tmp/state" --role worker --listen 127.0.0.1:0 \
  --coordinator "$coordinator" --upstream "$model" 2>&1)
expect worker-needs-etcd "shares secrets through etcd" "$out"
# A worker on a port that is taken says so (its etcd watch is stopped
# first: no abort).
out=$("$bin" backend --dev --state "$tmp/state" --role worker --listen "127.0.0.1:$worker_port" \
  --coordinator "$coordinator" --secret-store "$etcd" --upstream "$model" 2>&1); st=$?
[ $st -eq 1 ] && printf '%s' "$out" | grep -q "listening on 127.0.0.1:$worker_port" \
  && ok worker-port-taken || fail "worker-port-taken: status $st: $out"
out=$("$bin" backend --dev --state "$tmp/empty" --role gateway --coordinator "$coordinator" 2>&1)
expect role-needs-state "start the coordinator role first" "$out"

[ $failures -eq 0 ] || { echo "$failures check(s) failed"; exit 1; }
echo "all role checks passed"
