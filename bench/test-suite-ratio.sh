#!/usr/bin/env bash
# ./test.sh against the way the suite ran when issue 14 was filed: every test class one at a time in one test process
# (`dotnet test BertSharp.slnx -c Release -- xUnit.ParallelizeTestCollections=false`, without ./test.sh's allocator and
# runtime settings), on the same commit and the same tests, alternated A B B A (ROUNDS=2 pairs by default) so that both modes
# see the same host. Prints each run's wall time, the machine's busy CPU seconds meanwhile (every process, including the test
# hosts that `dotnet test` of a solution starts from MSBuild's worker nodes, which a process's own accounting misses: keep the
# machine otherwise idle) and the CPU time the hypervisor gave to other guests (steal), then the ratio of the wall times.
#
# With BASE=<commit>, the other contender is that commit's own ./test.sh instead (the issue's before/after: its tests as
# they were, run as they were), from a git worktree made beside this checkout (../bertsharp-base-<commit>, so that both
# see the same ../shared) and removed at the end; the warm-up then runs both.
#
# Usage: bench/test-suite-ratio.sh            (a warm-up ./test.sh first: the first run after a commit packs and builds the
#        ROUNDS=3 WARMUP=0 bench/test-suite-ratio.sh      packaging tests' cache and is not comparable)
#        BASE=698fecf bench/test-suite-ratio.sh            (./test.sh against 698fecf's ./test.sh)
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
cd "$root"
rounds=${ROUNDS:-2}
log=$(mktemp /tmp/bertsharp-ratio.XXXXXX)
base=${BASE:-}
base_dir=
cleanup() {
  rm -f "$log"
  if [[ -n "$base_dir" ]]; then git worktree remove --force "$base_dir" >/dev/null 2>&1 || rm -rf "$base_dir"; fi
}
trap cleanup EXIT
if [[ -n "$base" ]]; then
  base_dir=$(cd .. && pwd)/bertsharp-base-$(git rev-parse --short "$base")
  git worktree add --force --detach "$base_dir" "$base" >/dev/null 2>&1 \
    || { echo "bench/test-suite-ratio.sh: cannot check out $base into $base_dir" >&2; base_dir=; exit 1; }
fi
other=${base:+base}
other=${other:-one}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# /proc/stat's first line: user nice system idle iowait irq softirq steal, in clock ticks.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat; }
steal() { awk '/^cpu / { print $9 }' /proc/stat; }
ticks=$(getconf CLK_TCK)
one_class() { env -u LD_PRELOAD -u DOTNET_TieredPGO dotnet test BertSharp.slnx -c Release -- xUnit.ParallelizeTestCollections=false; }

# run MODE: one timed run; prints its wall time, CPU, steal and result line, and appends "MODE wall" to $log
run() {
  local mode=$1 s0 s1 b0 b1 t0 t1 cpu out rc=0
  out=$(mktemp /tmp/bertsharp-ratio-out.XXXXXX)
  s0=$(steal); b0=$(busy); t0=$(date +%s.%N)
  case $mode in
    test.sh) ( ./test.sh > "$out" 2>&1 ) || rc=$? ;;
    base) ( cd "$base_dir" && ./test.sh > "$out" 2>&1 ) || rc=$? ;;
    *) ( one_class > "$out" 2>&1 ) || rc=$? ;;
  esac
  t1=$(date +%s.%N); s1=$(steal); b1=$(busy)
  local wall; wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
  cpu=$(awk -v a="$b1" -v b="$b0" -v t="$ticks" 'BEGIN { printf "%.0f", (a - b) / t }')
  local result
  if [[ $mode != one ]]; then result=$(tail -1 "$out"); else result=$(grep -o 'Failed: *[0-9]*, Passed: *[0-9]*, Skipped: *[0-9]*' "$out" | tr -s ' ' | head -1); fi
  rm -f "$out"
  printf '%-8s %6.1f s wall %5s CPU-s %5.1f s stolen  %s%s\n' "$mode" "$wall" "$cpu" \
    "$(awk -v a="$s1" -v b="$s0" -v t="$ticks" 'BEGIN { print (a - b) / t }')" "$result" "$( ((rc)) && echo " (exit $rc)")"
  echo "$mode $wall" >> "$log"
  return $rc
}

if [[ ${WARMUP:-1} == 1 ]]; then
  echo "warm-up ./test.sh (not counted)..."
  # A failed warm-up says which tests failed: the [FAIL] lines and the counts line of its output (kept whole in $warm).
  warm=$(mktemp /tmp/bertsharp-ratio-warmup.XXXXXX)
  warm_failed() {
    echo "bench/test-suite-ratio.sh: the warm-up ./test.sh$1 failed (its output: $warm)" >&2
    grep -E '\[FAIL\]|passed, ' "$warm" >&2 || tail -5 "$warm" >&2
    exit 1
  }
  ./test.sh > "$warm" 2>&1 || warm_failed ""
  if [[ -n "$base_dir" ]]; then
    echo "warm-up ./test.sh of $base (not counted)..."
    ( cd "$base_dir" && ./test.sh > "$warm" 2>&1 ) || warm_failed " of $base"
  fi
  rm -f "$warm"
fi
echo "$(git rev-parse --short HEAD) on $(getconf _NPROCESSORS_ONLN) vCPUs, $(date -u '+%Y-%m-%d %H:%M UTC')"
for ((i = 0; i < rounds; i++)); do
  if ((i % 2 == 0)); then run test.sh; run "$other"; else run "$other"; run test.sh; fi
done
label=${base:+"$base's ./test.sh"}
awk -v other="$other" -v label="${label:-one class at a time}" \
  '{ w[$1] += $2 } END { printf "wall time, ./test.sh / %s: %.0f s / %.0f s = %.2f\n", label, w["test.sh"], w[other], w["test.sh"] / w[other] }' "$log"
