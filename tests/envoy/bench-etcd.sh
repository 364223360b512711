#!/usr/bin/env bash
# What the replicated callback store adds to an emergency call through Envoy, in one run:
#
#   tests/envoy/bench-etcd.sh [CALLS] [RATE] [ROUNDS]   (defaults 1000 200 2)
#
# The same SIPp load of Wichita 911 calls (ELIN-gateway route: every call takes an ELIN
# of its ERL's pool) over one TCP connection through two Envoys (--concurrency 2), one
# with the filter's own store (shared data), one with "callback_store": {"etcd": …} on a
# three-member etcd cluster on loopback (data on this machine's disk: its writes wait
# for fsync, as in production). Runs alternate between the two.
#
# Reported per run: completed calls per second of SIPp's wall time, SIPp's INVITE→200
# time (median and p99; whole milliseconds), and for the etcd Envoy what each call waited
# for etcd (the filter's histogram wasmcustom.e911.etcd.wait_us, median and p99 over the
# whole run so far) with its degraded calls and lost races.
#
# Needs etcd (etcd-server), sipp and Envoy from target/tools/venv (`cargo xtask test`
# installs them). A measurement, not a test: nothing is asserted.
set -euo pipefail
calls=${1:-1000}
rate=${2:-200}
rounds=${3:-2}
root=$(cd "$(dirname "$0")/../.." && pwd)
envoy="${E911_TOOLS:-$root/target/tools}/venv/bin/envoy"
[ -x "$envoy" ] || { echo "no Envoy at $envoy: run cargo xtask test" >&2; exit 1; }
(cd "$root" && cargo run -q -p xtask -- build-envoy >/dev/null && cargo build -q --release -p e911-harness)
harness="$root/target/release/e911-harness"
module="$root/target/wasm/e911_envoy.wasm"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${E911_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# shellcheck source=hosts/etcd/bench-lib.sh
. "$root/hosts/etcd/bench-lib.sh"
wichita_bundle "$harness"
start_etcd
members="${client[*]}"

# bootstrap STORE UPSTREAM_PORT > file; STORE: own | etcd
bootstrap() {
  python3 - "$1" "$2" "$module" "$work/policy.bundle" "$members" <<'EOF'
import base64, json, sys
store, up, module, bundle, members = sys.argv[1:]
def cluster(name, ip, ports, **extra):
    return {"name": name, "type": "STATIC", "connect_timeout": "2s", **extra,
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": ip, "port_value": int(p)}}}}
                for p in ports]}]}}
config = {"node": "edge-1.contoso.com",
          "bundle": {"inline": base64.b64encode(open(bundle, "rb").read()).decode()}}
clusters = [cluster("up", "127.0.0.3", [up])]
if store == "etcd":
    names = [f"etcd_{i}" for i, _ in enumerate(members.split())]
    config["callback_store"] = {"etcd": {"clusters": names, "wait_ms": 150}}
    clusters += [cluster(n, "127.0.0.1", [p]) for n, p in zip(names, members.split())]
wasm = {"name": "envoy.filters.network.wasm", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
    "config": {"name": "e911", "root_id": "e911", "failure_policy": "FAIL_RELOAD",
        "vm_config": {"vm_id": "e911", "runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": module}}},
        "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(config)}}}}
proxy = {"name": "envoy.filters.network.tcp_proxy", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
    "stat_prefix": "sip", "cluster": "up"}}
print(json.dumps({"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
    "stats_flush_interval": "1s",
    "static_resources": {
        "listeners": [{"name": "sip", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                       "filter_chains": [{"filters": [wasm, proxy]}]}],
        "clusters": clusters}}))
EOF
}

# start STORE: a callee and an Envoy in front of it; sets STORE_sip and STORE_admin
start() {
  local store=$1 dir="$work/$1" up
  mkdir -p "$dir"
  up=$(free_port)
  sipp -sf "$root/tests/sipp/uas-elin.xml" -i 127.0.0.3 -p "$up" -t t1 -nostdin -timeout 900s \
    >"$dir/uas.log" 2>&1 &
  pids+=($!)
  bootstrap "$store" "$up" >"$dir/envoy.json"
  "$envoy" -c "$dir/envoy.json" --disable-hot-restart --concurrency 2 \
    --admin-address-path "$dir/admin" -l warning >/dev/null 2>"$dir/envoy.log" &
  local pid=$!
  pids+=("$pid")
  until [ -s "$dir/admin" ] && curl -sf "http://$(cat "$dir/admin")/ready" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/envoy.log" >&2; exit 1; }
    sleep 0.1
  done
  local admin sip
  admin=$(cat "$dir/admin")
  sip=$(curl -s "http://$admin/listeners?format=json" | python3 -c 'import json,sys; a=json.load(sys.stdin)["listener_statuses"][0]["local_address"]["socket_address"]; print("%s:%s" % (a["address"], a["port_value"]))')
  eval "${store}_sip=$sip ${store}_admin=$admin"
}
start own
start etcd
# Let the etcd Envoy's root take its lease and first listing.
sleep 2

run() { # STORE ROUND
  local store=$1 dir="$work/$1/run$2" sip admin start end ok cps times
  sip=$(eval echo "\$${store}_sip") admin=$(eval echo "\$${store}_admin")
  mkdir -p "$dir"
  start=$(date +%s.%N)
  (cd "$dir" && sipp "$sip" -sf "$root/tests/sipp/uac.xml" -s 911 -i 127.2.0.10 -p "$(free_port)" -t t1 \
    -r "$rate" -l 200 -m "$calls" -nostdin -timeout 300s \
    -trace_stat -fd 1 -stf stat.csv -trace_rtt -rtt_freq 1 >/dev/null 2>&1 || true)
  end=$(date +%s.%N)
  ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$dir/stat.csv")
  cps=$(awk -v n="$ok" -v a="$start" -v b="$end" 'BEGIN{print n / (b - a)}')
  times=$({ cat "$dir"/*_rtt.csv 2>/dev/null || true; } | awk -F';' '$2 ~ /^[0-9.]+$/ {print $2}' | sort -n |
    awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)] "/" a[int(NR*0.99)+0]; else print "nan/nan"}')
  local wait=""
  if [ "$store" = etcd ]; then
    sleep 1.5 # histograms are computed at the stats flush (1 s here)
    wait=$(curl -s "http://$admin/stats?format=json&filter=e911.etcd" | python3 -c '
import json, sys
stats = json.load(sys.stdin)["stats"]
counters = {s["name"]: s["value"] for s in stats if "name" in s}
q = {}
for s in stats:
    for h in s.get("histograms", {}).get("computed_quantiles", []):
        if h["name"].endswith("wait_us"):
            q = {float(a): v["cumulative"] for a, v in zip([x for x in s["histograms"]["supported_quantiles"]], h["values"])}
p50, p99 = q.get(50.0), q.get(99.0)
print("waits for etcd p50 %s ms, p99 %s ms; %d degraded, %d races lost" % (
    "%.2f" % (p50 / 1000) if p50 is not None else "?", "%.2f" % (p99 / 1000) if p99 is not None else "?",
    counters.get("wasmcustom.e911.etcd.degraded", 0), counters.get("wasmcustom.e911.etcd.lost_races", 0)))')
  fi
  printf 'round %s  %-4s %5s/%s calls ok  %7.1f calls/s  INVITE→200 median/p99 %s ms  %s\n' \
    "$2" "$store" "$ok" "$calls" "$cps" "$times" "$wait"
}

echo "SIPp -r $rate -l 200 -m $calls -t t1 (Wichita 911: ELIN route), Envoy --concurrency 2, loopback; etcd $(etcd --version | head -1 | awk '{print $3}'), 3 members"
for round in $(seq "$rounds"); do
  run own "$round"
  run etcd "$round"
done
