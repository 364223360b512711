#!/usr/bin/env bash
# What the replicated callback store costs an emergency call: the same SIPp load of
# Wichita 911 calls (ELIN gateway route: every call reads the ERL's ELINs and takes one by
# compare-and-swap) through two harness proxies in one run, one with its own store, one
# with --etcd on a three-member etcd cluster on loopback. Runs alternate between the two.
#
#   hosts/etcd/bench.sh [CALLS] [RATE] [LIMIT] [ROUNDS]   (defaults 1000 200 20 2)
#
# Reported per run: calls completed per second of SIPp's wall time, and from the etcd
# proxy's status.json the time each call waited for etcd over all its requests (median
# and p99 over the run's last 1024 calls), and the latency of single etcd requests.
# etcd's data folders are on the machine's disk: its writes wait for fsync, as they would
# in production. Needs etcd (etcd-server) and sipp; builds the harness (release) and the
# component. A measurement, not a test: nothing is asserted.
set -euo pipefail
calls=${1:-1000}
rate=${2:-200}
limit=${3:-20}
rounds=${4:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
cargo build --release -q -p e911-harness --manifest-path "$root/Cargo.toml"
(cd "$root" && cargo xtask build-component >/dev/null)
bin="$root/target/release/e911-harness"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# shellcheck source=hosts/etcd/bench-lib.sh
. "$root/hosts/etcd/bench-lib.sh"
wichita_bundle "$bin"
start_etcd

start_proxy() { # label extra-args...
  local label=$1 dir="$work/$1" port uport
  shift
  mkdir -p "$dir"
  port=$(free_port) uport=$(free_port)
  sipp -sf "$root/tests/sipp/uas-elin.xml" -i 127.0.0.3 -p "$uport" -nostdin -timeout 600s \
    >"$dir/uas.log" 2>&1 &
  pids+=($!)
  "$bin" proxy --listen "udp:127.0.0.1:$port" --policy "$work/policy.bundle" \
    --upstream "127.0.0.3:$uport" --elin-upstream "127.0.0.3:$uport" --state-dir "$dir/state" "$@" \
    >"$dir/proxy.out" 2>"$dir/proxy.log" &
  pids+=($!)
  for _ in $(seq 100); do grep -q ready "$dir/proxy.out" && break; sleep 0.1; done
  eval "${label}_port=$port"
}
start_proxy own
start_proxy etcd --etcd "$endpoints"

run() { # label round
  local label=$1 port dir="$work/$1" start end ok cps
  port=$(eval echo "\$${label}_port")
  start=$(date +%s.%N)
  sipp "127.0.0.1:$port" -sf "$root/tests/sipp/uac.xml" -s 911 -i 127.2.0.10 -p "$(free_port)" \
    -r "$rate" -l "$limit" -m "$calls" -nostdin -timeout 300s \
    -trace_stat -fd 1 -stf "$dir/run$2.csv" >/dev/null 2>&1 || true
  end=$(date +%s.%N)
  ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$dir/run$2.csv")
  cps=$(awk -v n="$ok" -v a="$start" -v b="$end" 'BEGIN{print n / (b - a)}')
  sleep 0.6 # status.json is written every 250 ms
  local wait=""
  if [ "$label" = etcd ]; then
    wait=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1]))["callback_store"]; print("call waits for etcd: p50 %.2f ms, p99 %.2f ms; one request: p50 %.2f ms, p99 %.2f ms; %d decided without it, %d races lost" % (s["call_wait_p50_us"]/1000, s["call_wait_p99_us"]/1000, s["latency_p50_us"]/1000, s["latency_p99_us"]/1000, s["fallbacks"], s["lost_races"]))' "$dir/state/status.json")
  fi
  printf 'round %s  %-5s %5s/%s calls ok  %7.1f calls/s  %s\n' "$2" "$label" "$ok" "$calls" "$cps" "$wait"
}

echo "SIPp -r $rate -l $limit -m $calls -t u1 (Wichita 911: ELIN route), loopback; etcd $(etcd --version | head -1 | awk '{print $3}'), 3 members"
for round in $(seq "$rounds"); do
  run own "$round"
  run etcd "$round"
done
