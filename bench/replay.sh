#!/usr/bin/env bash
# Cache hit rate over a real Go repository's history: check out each of the
# last N commits in turn (oldest first) and run `go vet` and `go test` of
# every package as separate tasks through jsrt-script, with one state
# directory across commits, as a CI job would. Prints per-commit counts and
# the overall hit rate and time saved.
#
#   bash bench/replay.sh [REPO] [N]     (default: this repository, 30)
#
# Each task's inputs are its package's files plus the files of the packages
# it imports from the same module (from `go list -deps`), and go.mod/go.sum,
# so a hit is only possible when nothing the package builds from changed.
# The end-to-end package (it builds and drives the binary) is left out to
# keep the replay short.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
repo=${1:-$here}
n=${2:-30}
make -s -C "$here" build
bin="$here/bin/jsrt-script"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/repo"
cd "$work/repo"
commits=$(git rev-list --reverse -n "$n" HEAD)
total_hit=0 total_miss=0 saved_ms=0 spent_ms=0 i=0
for c in $commits; do
  i=$((i + 1))
  git checkout -q "$c"
  mod=$(go list -m 2>/dev/null) || { echo "commit $i ${c:0:8}: no module, skipped"; continue; }
  {
    echo 'const { task, root } = require("jsrt");'
    echo 'root("repo");'
    go list -f '{{.ImportPath}} {{join .Deps " "}}' ./... 2>/dev/null | while read -r pkg deps; do
      rel=${pkg#"$mod"}; rel=${rel#/}; [ -n "$rel" ] || rel=.
      [ "$rel" = cmd/jsrt-script ] && continue
      inputs="\"$rel/*.go\", \"$rel/testdata/**\", \"go.mod\", \"go.sum\""
      for d in $deps; do
        case $d in "$mod"/*) inputs="$inputs, \"${d#"$mod"/}/*.go\"" ;; esac
      done
      echo "task(\"vet:$rel\", { cmd: [\"go\", \"vet\", \"./$rel\"], inputs: [$inputs] });"
      echo "task(\"test:$rel\", { cmd: [\"go\", \"test\", \"-count=1\", \"./$rel\"], inputs: [$inputs] });"
    done
  } > "$work/strategy.js"
  out=$("$bin" run "$work/strategy.js" --json --continue -j 2 --state-dir "$work/state" 2>/dev/null || true)
  read -r hit miss wall saved <<<"$(printf '%s' "$out" | python3 -c '
import json,sys
s=json.load(sys.stdin); c=s["counts"]
print(c.get("cached",0), c.get("ok",0)+c.get("failed",0), int(s["wallMs"]), int(s["savedMs"]))')"
  total_hit=$((total_hit + hit)); total_miss=$((total_miss + miss))
  spent_ms=$((spent_ms + wall)); saved_ms=$((saved_ms + saved))
  printf 'commit %2d %s: %3d hits %3d misses, %6d ms (hits replaced %6d ms)\n' "$i" "${c:0:8}" "$hit" "$miss" "$wall" "$saved"
done
echo "hit rate $(( 100 * total_hit / (total_hit + total_miss > 0 ? total_hit + total_miss : 1) ))% ($total_hit hits, $total_miss runs);" \
  "wall with the cache $((spent_ms / 1000)) s; task time the hits replaced $((saved_ms / 1000)) s"
