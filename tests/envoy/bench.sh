#!/usr/bin/env bash
# Envoy with the E9-1-1 filter against Envoy with plain tcp_proxy, in one run:
#
#   tests/envoy/bench.sh [CALLS] [RATE] [PARTS]   (defaults 2000 300 all; PARTS: rate | all)
#
# 1. Call rate and response time: SIPp places CALLS ordinary calls, then CALLS emergency
#    calls (911 from the HQ subnet: sip-trunk route, PIDF-LO inserted), at up to RATE
#    calls/s over one TCP connection (a trunk's persistent connection), through Envoy
#    (--concurrency 2) to a SIPp callee; once with the filter (the example bundle inline),
#    once with tcp_proxy alone. Rate = completed calls / wall time of the SIPp run;
#    response time = SIPp's INVITE→200 time per call (-trace_rtt), median and p99;
#    CPU = Envoy's user plus system time (/proc/PID/stat, every thread) over the SIPp run,
#    per 1000 completed calls: at a rate below SIPp's ceiling this is what the filter
#    costs, where the call rate shows nothing.
# 2. Memory: Envoy's RSS (VmRSS) after 200 calls over per-call connections (so every
#    worker has run the filter), for tcp_proxy alone, the example bundle, and a
#    1,000,000-subnet bundle (14 MB, polled over HTTP), with --concurrency 1 and 2.
#
# E911_ENVOY_PERF=DIR records each rate run's Envoy with `perf record` (DIR/LABEL-KIND.data):
# where its CPU goes, in Envoy, the kernel and V8's code (shown as anonymous memory).
#
# Needs sipp (Debian sip-tester) and Envoy from target/tools/venv (`cargo xtask test`
# installs both). This is a measurement, not a test: nothing is asserted.
set -euo pipefail
calls=${1:-2000}
rate=${2:-300}
parts=${3:-all}
root=$(cd "$(dirname "$0")/../.." && pwd)
envoy="${E911_TOOLS:-$root/target/tools}/venv/bin/envoy"
[ -x "$envoy" ] || { echo "no Envoy at $envoy: run cargo xtask test" >&2; exit 1; }
(cd "$root" && cargo run -q -p xtask -- build-envoy >/dev/null && cargo build -q --release -p e911-harness)
harness="$root/target/release/e911-harness"
module="$root/target/wasm/e911_envoy.wasm"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# The example policy plus the loopback HQ subnet (as in host-harness/tests/envoy.rs);
# notifications go to the webhook path of the bootstrap's "desk" listener.
cp -r "$root/policies/contoso" "$work/src"
printf '"127.1.0.0","Redmond B40 wired, floor 1","Building 40, Floor 1","Contoso","1","","","Microsoft","Way","","Redmond","WA","98052","US"\r\n' >>"$work/src/subnets.csv"
printf '[targets.redmond-security]\nwebhook = "http://127.0.0.1/hook"\n[targets.wichita-security]\nwebhook = "http://127.0.0.1/hook"\n' >"$work/src/notifications.toml"
"$harness" bundle build "$work/src" -o "$work/example.bundle" >/dev/null
# The same without notification targets: what the filter itself costs per call, without
# the webhook POST Envoy then makes for every emergency call.
cp -r "$work/src" "$work/src-quiet"
sed -i 's/^notifications = .*/notifications = []/' "$work/src-quiet/policies.toml"
: >"$work/src-quiet/notifications.toml"
"$harness" bundle build "$work/src-quiet" -o "$work/quiet.bundle" >/dev/null
# 1,000,000 more subnets: /28s 32 addresses apart over two ERLs, so none merge.
cp -r "$work/src" "$work/src-1m"
python3 - "$work/src-1m/bulk-subnets.csv" <<'EOF'
import ipaddress, sys
with open(sys.argv[1], "w") as f:
    f.write("subnet,erl\n")
    erls = ["redmond-b40-f1", "redmond-b40-f2"]
    for i in range(1_000_000):
        f.write(f"{ipaddress.IPv4Address(0x0B000000 + i * 32)}/28,{erls[i % 2]}\n")
EOF
"$harness" bundle build "$work/src-1m" -o "$work/1m.bundle" >/dev/null

# The bundle server (the 1M bundle), on an ephemeral port.
python3 - "$work" <<'EOF' &
import http.server, os, sys, threading
work = sys.argv[1]
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(204); self.end_headers()
    def do_GET(self):
        body = open(os.path.join(work, "1m.bundle"), "rb").read()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
open(os.path.join(work, "http.port"), "w").write(str(s.server_address[1]))
s.serve_forever()
EOF
pids+=($!)
while [ ! -s "$work/http.port" ]; do sleep 0.1; done
http_port=$(cat "$work/http.port")

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("'"$1"'",0)); print(s.getsockname()[1])'; }

# bootstrap MODE UPSTREAM_PORT [MODULE] > file; MODE: plain | quiet | example | 1m
bootstrap() {
  python3 - "$1" "$2" "${3:-$module}" "$work" "$http_port" "$(free_port 127.0.0.1)" <<'EOF'
import base64, json, sys
mode, up, module, work, http_port, desk_port = sys.argv[1:]
def cluster(name, port):
    return {"name": name, "type": "STATIC", "connect_timeout": "2s",
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1" if name != "up" else "127.0.0.2", "port_value": int(port)}}}}]}]}}
filters = []
if mode != "plain":
    if mode in ("example", "quiet"):
        bundle = f"{work}/{mode}.bundle"
        source = {"inline": base64.b64encode(open(bundle, "rb").read()).decode()}
    else:
        source = {"http": {"cluster": "http", "authority": "bundles", "path": "/1m.bundle", "poll_seconds": 3600}}
    config = {"node": "edge-1.contoso.com", "bundle": source, "notifications": {"cluster": "desk"}}
    filters.append({"name": "envoy.filters.network.wasm", "typed_config": {
        "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
        "config": {"name": "e911", "root_id": "e911", "failure_policy": "FAIL_RELOAD",
            "vm_config": {"vm_id": "e911", "runtime": "envoy.wasm.runtime.v8", "code": {"local": {"filename": module}}},
            "configuration": {"@type": "type.googleapis.com/google.protobuf.StringValue", "value": json.dumps(config)}}}})
filters.append({"name": "envoy.filters.network.tcp_proxy", "typed_config": {
    "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
    "stat_prefix": "sip", "cluster": "up"}})
# The security desk's webhook: a listener of this same Envoy answering 204, so a
# notification costs what Envoy's HTTP stack costs, not a Python server's CPU.
desk = {"name": "desk", "address": {"socket_address": {"address": "127.0.0.1", "port_value": int(desk_port)}},
        "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "stat_prefix": "desk", "http_filters": [{"name": "envoy.filters.http.router", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
            "route_config": {"virtual_hosts": [{"name": "desk", "domains": ["*"], "routes": [
                {"match": {"prefix": "/"}, "direct_response": {"status": 204}}]}]}}}]}]}
print(json.dumps({"admin": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}}},
    "static_resources": {
        "listeners": [{"name": "sip", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                       "filter_chains": [{"filters": filters}]}, desk],
        "clusters": [cluster("up", up), cluster("http", http_port), cluster("desk", desk_port)]}}))
EOF
}

# start_envoy MODE WORKERS UPSTREAM_PORT DIR [MODULE]: sets envoy_pid, sip (ip:port), admin
start_envoy() {
  local dir=$4
  mkdir -p "$dir"
  bootstrap "$1" "$3" "${5:-}" >"$dir/envoy.json"
  "$envoy" -c "$dir/envoy.json" --disable-hot-restart --concurrency "$2" \
    --admin-address-path "$dir/admin" -l warning >/dev/null 2>"$dir/envoy.log" &
  envoy_pid=$!
  pids+=("$envoy_pid")
  until [ -s "$dir/admin" ] && curl -sf "http://$(cat "$dir/admin")/ready" >/dev/null 2>&1; do
    kill -0 "$envoy_pid" 2>/dev/null || { cat "$dir/envoy.log" >&2; exit 1; }
    sleep 0.1
  done
  admin=$(cat "$dir/admin")
  sip=$(curl -s "http://$admin/listeners?format=json" | python3 -c 'import json,sys; a=[l for l in json.load(sys.stdin)["listener_statuses"] if l["name"] == "sip"][0]["local_address"]["socket_address"]; print("%s:%s" % (a["address"], a["port_value"]))')
  if [ "$1" = 1m ]; then # wait for the first poll to publish the bundle
    until curl -s "http://$admin/stats?filter=bundle.activations" | grep -q ': [1-9]'; do sleep 0.2; done
  fi
}

stop() { kill "$@" 2>/dev/null || true; wait "$@" 2>/dev/null || true; }

# CPU ticks (user + system, all threads) of the running Envoy.
envoy_ticks() { awk '{print $14 + $15}' "/proc/$envoy_pid/stat"; }
hz=$(getconf CLK_TCK)

# uac NAME DIAL CALLS RATE TRANSPORT DIR → prints "calls/s median_ms ok"
uac() {
  local dir=$6/$1
  mkdir -p "$dir"
  local start end
  start=$(date +%s.%N)
  # With one connection per call (tn) SIPp picks its local ports itself.
  local port=()
  if [ "$5" = t1 ]; then port=(-p "$(free_port 127.1.0.10)"); else port=(-max_socket 1000); fi
  (cd "$dir" && sipp "$sip" -sf "$root/tests/sipp/uac.xml" -s "$2" -i 127.1.0.10 \
    "${port[@]}" -t "$5" -r "$4" -l 500 -m "$3" -nostdin -timeout 120s \
    -trace_stat -fd 1 -stf stat.csv -trace_rtt -rtt_freq 1 >/dev/null 2>&1 || true)
  end=$(date +%s.%N)
  local ok
  ok=$(awk -F';' 'NR==1{for(i=1;i<=NF;i++) if($i=="SuccessfulCall(C)") c=i} END{print $c}' "$dir/stat.csv")
  # SIPp's response times are whole milliseconds: median and 99th percentile.
  local times
  times=$(cat "$dir"/*_rtt.csv 2>/dev/null | awk -F';' '$2 ~ /^[0-9.]+$/ {print $2}' | sort -n |
    awk '{a[NR]=$1} END{if (NR) print a[int((NR+1)/2)] "/" a[int(NR*0.99)+0]; else print "nan/nan"}')
  awk -v n="$ok" -v a="$start" -v b="$end" -v m="$times" 'BEGIN{printf "%.1f %s %d", n / (b - a), m, n}'
}

# rate_run MODE [LABEL MODULE] → sets ${LABEL}_other and ${LABEL}_emergency to
# "calls/s median ok cpu"; LABEL defaults to MODE, MODULE to this tree's build.
rate_run() {
  local label=${2:-$1}
  local dir=$work/rate-$label up
  up=$(free_port 127.0.0.2)
  mkdir -p "$dir"
  sipp -sf "$root/tests/sipp/uas.xml" -i 127.0.0.2 -p "$up" -t t1 -nostdin -timeout 300s \
    >"$dir/uas.log" 2>&1 &
  local uas=$!
  pids+=("$uas")
  start_envoy "$1" 2 "$up" "$dir" "${3:-}"
  for kind in other:4255550199 emergency:911; do
    local name=${kind%%:*} dial=${kind#*:}
    local r t0 t1 cpu
    local perf=
    if [ -n "${E911_ENVOY_PERF:-}" ]; then
      mkdir -p "$E911_ENVOY_PERF"
      perf record -q -g -p "$envoy_pid" -o "$E911_ENVOY_PERF/$label-$name.data" 2>/dev/null &
      perf=$!
    fi
    t0=$(envoy_ticks)
    r=$(uac "$name" "$dial" "$calls" "$rate" t1 "$dir")
    t1=$(envoy_ticks)
    if [ -n "$perf" ]; then kill -INT "$perf"; wait "$perf" || true; fi
    cpu=$(awk -v t="$((t1 - t0))" -v hz="$hz" -v n="$(echo "$r" | cut -d' ' -f3)" 'BEGIN{printf "%.3f", n ? t / hz / n * 1000 : 0}')
    printf '%-8s %-10s %s calls/s, INVITE→200 median/p99 %s ms, %s/%s calls ok, %s CPU s per 1000 calls\n' "$label" "$name" \
      "$(echo "$r" | cut -d' ' -f1)" "$(echo "$r" | cut -d' ' -f2)" "$(echo "$r" | cut -d' ' -f3)" "$calls" "$cpu"
    eval "${label}_$name=\"$r $cpu\""
  done
  stop "$envoy_pid" "$uas"
}

echo "== rate: SIPp -r $rate -l 500 -m $calls -t t1, Envoy --concurrency 2, loopback"
# plain: tcp_proxy alone; quiet: the filter, a bundle without notification targets;
# example: the filter, the example bundle (a webhook POST per emergency call).
rate_run plain
rate_run quiet
rate_run example
labels=(quiet example)
# E911_ENVOY_BEFORE="LABEL=path/to/e911_envoy.wasm ..." adds older builds (quiet bundle)
# to the same run, for before/after figures.
for pair in ${E911_ENVOY_BEFORE:-}; do
  rate_run quiet "${pair%%=*}" "${pair#*=}"
  labels+=("${pair%%=*}")
done
for label in "${labels[@]}"; do
  for name in other emergency; do
    with=$(eval echo "\$${label}_$name")
    without=$(eval echo "\$plain_$name")
    printf '%-8s / tcp_proxy  %-10s rate %.3f  CPU per call %.3f\n' "$label" "$name" \
      "$(awk -v a="${with%% *}" -v b="${without%% *}" 'BEGIN{print b ? a / b : 0}')" \
      "$(awk -v a="${with##* }" -v b="${without##* }" 'BEGIN{print b ? a / b : 0}')"
  done
done
[ "$parts" = rate ] && exit 0

echo "== memory: VmRSS after 200 emergency calls, one TCP connection per call (-t tn)"
for workers in 1 2; do
  for mode in plain example 1m; do
    dir=$work/rss-$mode-$workers
    up=$(free_port 127.0.0.2)
    mkdir -p "$dir"
    sipp -sf "$root/tests/sipp/uas.xml" -i 127.0.0.2 -p "$up" -t tn -max_socket 1000 \
      -nostdin -timeout 120s \
      >"$dir/uas.log" 2>&1 &
    uas=$!
    pids+=("$uas")
    start_envoy "$mode" "$workers" "$up" "$dir"
    idle=$(awk '/VmRSS/ {print $2}' "/proc/$envoy_pid/status")
    r=$(uac load 911 200 100 tn "$dir")
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$envoy_pid/status")
    printf 'workers %s  %-8s RSS idle %6.1f MiB, after calls %6.1f MiB  (%s calls ok)\n' \
      "$workers" "$mode" "$(awk -v k="$idle" 'BEGIN{print k/1024}')" \
      "$(awk -v k="$rss" 'BEGIN{print k/1024}')" "$(echo "$r" | cut -d' ' -f3)"
    stop "$envoy_pid" "$uas"
  done
done
