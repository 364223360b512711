#!/bin/sh
# The playground's two calls (compile the contoso policy, decide hq-wired-911) natively
# (criterion, benches/playground.rs) and in Chromium (the release Wasm through the page's
# own API, tests/playground/bench.mjs), one after the other in one run.
# Needs what `cargo xtask setup` installs (Chromium, playwright-core, wasm-bindgen-cli).
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$root"
tools=${E911_TOOLS:-$root/target/tools}

cargo xtask build-web
cargo build -p e911-harness   # only serves files: a debug build does
cargo bench -p e911-web --bench playground -- --noplot >/dev/null
for bench in compile_contoso decide_hq_wired; do
  node -e 'const [f, b] = process.argv.slice(1);
    const m = JSON.parse(require("fs").readFileSync(f)).median.point_estimate / 1000;
    console.log(`native   playground/${b}  median ${m.toFixed(1)} µs`);' \
    "target/criterion/playground/$bench/new/estimates.json" "$bench"
done

out=$(mktemp)
target/debug/e911-harness playground --listen 127.0.0.1:0 --dir target/wasm/web >"$out" &
server=$!
trap 'kill $server 2>/dev/null; rm -f "$out"' EXIT
while ! grep -q http "$out"; do sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$out")
node tests/playground/bench.mjs "$url" "$tools"
