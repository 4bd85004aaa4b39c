#!/usr/bin/env bash
# Whole-command benchmarks for the main job, side by side with GNU make on
# the same graph, in the same run. Figures go to BENCHMARKS.md by hand.
#
#   bash bench/run.sh          (make bench runs it after the Go benchmarks)
#
# Needs hyperfine and GNU time (Debian packages hyperfine, time); installs
# them when missing and apt-get is there.
set -euo pipefail
cd "$(dirname "$0")/.."
for pkg in hyperfine:hyperfine time:/usr/bin/time; do
  if ! command -v "${pkg#*:}" >/dev/null; then
    echo "bench: installing ${pkg%%:*}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkg%%:*}" >/dev/null
  fi
done
make -s build
bin="$PWD/bin/jsrt-script"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== 1000 tasks of true at -j2: make vs jsrt-script"
go run ./bench/gen -family flat -n 1000 -out "$work/flat"
(cd "$work/flat" && hyperfine -N -w 2 -r 10 --export-json "$work/flat.json" \
  'make -j2 -s' "$bin run strategy.js -j 2 --output quiet")

echo "== 10000-task layered graph: load and validate (graph command), peak RSS"
go run ./bench/gen -family layered -n 10000 -out "$work/big"
(cd "$work/big" && hyperfine -N -w 2 -r 10 "$bin graph strategy.js --format text" &&
  /usr/bin/time -f "peak RSS %M KiB, %e s" "$bin" graph strategy.js --format text >/dev/null)

echo "== fully cached run of 1000 tasks (each with an input file)"
go run ./bench/gen -family flat -n 1000 -inputs -out "$work/cached"
(cd "$work/cached" && "$bin" run strategy.js --output quiet >/dev/null && sleep 2.1 &&
  hyperfine -N -w 2 -r 10 "$bin run strategy.js --output quiet")

echo "== no-op check of 10 000 unchanged input files (one task)"
mkdir -p "$work/files/src"
for d in $(seq 0 99); do mkdir -p "$work/files/src/d$d"; for f in $(seq 0 99); do echo "$d/$f" > "$work/files/src/d$d/f$f.c"; done; done
echo 'task("check", { cmd: "true", inputs: ["src/**/*.c"] });' > "$work/files/strategy.js"
(cd "$work/files" && "$bin" run strategy.js --output quiet >/dev/null && sleep 2.1 &&
  hyperfine -N -w 2 -r 10 "$bin run strategy.js --output quiet")
