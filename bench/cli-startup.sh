#!/usr/bin/env bash
# What the ReadyToRun images (build/ReadyToRun.targets) save per `bert` process: builds the CLI twice, with the images and
# without (-p:BertSharpReadyToRun=false), into .build/bench-startup/, then runs short commands from both builds in
# alternation (ROUNDS rounds, default 8) and prints the mean CPU seconds (user + system, the process and its children) and
# wall seconds of each, and their ratio; then how many methods one pre-training run JIT-compiles with each build.
# Commands: a 10-step pre-training run of the tiny test fixture on 20,000 characters of Alice in Wonderland (batch 4,
# length 32; what each rank of the MPI tests runs) and `bert tokenize` of one sentence.
# As ./bert runs them: tcmalloc preloaded when installed, one OpenMP thread (as the tests' ranks); set nothing else.
set -euo pipefail
root=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
rounds=${ROUNDS:-8}
out="$root/.build/bench-startup"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 OMP_NUM_THREADS=1
for v in r2r il; do
  flag=true; [[ $v == il ]] && flag=false
  dotnet build "$root/src/BertSharp.Cli/BertSharp.Cli.csproj" -c Release -o "$out/$v" -p:BertSharpReadyToRun=$flag --nologo -v q -clp:ErrorsOnly >&2
done
tcmalloc=$(ls /usr/lib/*-linux-gnu/libtcmalloc_minimal.so.4 2>/dev/null | head -1 || true)
[[ -n "$tcmalloc" ]] && export LD_PRELOAD="$tcmalloc"
work=$(mktemp -d /tmp/bertsharp-startup.XXXXXX)
trap 'rm -rf "$work"' EXIT
head -c 20000 "$root/samples/corpus/pg11_alice.txt" > "$work/alice.txt"
fixture="$root/tests/fixtures/hf_bert/pretraining"
dotnet "$out/il/bert.dll" pretrain-data --input "$work/alice.txt" --vocab "$fixture/vocab.txt" --output "$work/data" \
  --max-length 32 --max-predictions-per-seq 5 --dupe-factor 1 > /dev/null 2>&1
pretrain() { rm -rf "$work/run"; dotnet "$1/bert.dll" pretrain --data "$work/data" --model "$fixture" --output "$work/run" --steps 10 \
  --batch-size 4 --lr 1e-3 --warmup-steps 2 --seed 3 --device cpu > /dev/null 2>&1; }
tokenize() { echo "the quick brown fox jumps over the lazy dog" | dotnet "$1/bert.dll" tokenize --vocab "$fixture/vocab.txt" > /dev/null 2>&1; }
# CPU seconds of one run: the change in this shell's children's user + system times.
measure() { # measure COMMAND DIR -> "cpu wall"
  local t0 t1 w0 w1 me=$BASHPID # this subshell: a $(...) below has its own
  t0=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat); w0=$(date +%s.%N)
  "$1" "$2" || { echo "bench/cli-startup.sh: $1 with $2 failed" >&2; exit 1; }
  w1=$(date +%s.%N); t1=$(awk '{print $14 + $15 + $16 + $17}' /proc/$me/stat)
  echo "$(( t1 - t0 )) $w0 $w1"
}
hz=$(getconf CLK_TCK)
declare -A cpu wall
add() { awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'; }
for ((r = 1; r <= rounds; r++)); do
  for cmd in pretrain tokenize; do
    for v in il r2r; do
      m=$(measure "$cmd" "$out/$v") || exit 1
      read -r ticks w0 w1 <<<"$m"
      cpu[$cmd,$v]=$(add "${cpu[$cmd,$v]:-0}" "$(awk -v t="$ticks" -v h="$hz" 'BEGIN { print t / h }')")
      wall[$cmd,$v]=$(add "${wall[$cmd,$v]:-0}" "$(awk -v a="$w1" -v b="$w0" 'BEGIN { print a - b }')")
    done
  done
done
printf '%-10s %22s %22s %12s\n' command "without images (cpu/wall)" "with images (cpu/wall)" "cpu ratio"
for cmd in pretrain tokenize; do
  awk -v cmd="$cmd" -v n="$rounds" -v ci="${cpu[$cmd,il]}" -v wi="${wall[$cmd,il]}" -v cr="${cpu[$cmd,r2r]}" -v wr="${wall[$cmd,r2r]}" \
    'BEGIN { printf "%-10s %11.2f / %6.2f s %13.2f / %6.2f s %12.2f\n", cmd, ci / n, wi / n, cr / n, wr / n, cr / ci }'
done
# How many methods each build JIT-compiles in one pre-training run (the runtime's own list of what it compiled): the images
# cannot hold generic instantiations over framework types alone, nor P/Invoke stubs, so some remain.
for v in il r2r; do
  DOTNET_JitDisasmSummary=1 DOTNET_JitStdOutFile="$work/jit-$v.txt" pretrain "$out/$v"
  echo "pretrain, $([[ $v == il ]] && echo without || echo with) images: $(wc -l < "$work/jit-$v.txt") methods JIT-compiled"
done
echo "($rounds rounds, alternating; $(date -u '+%Y-%m-%d %H:%M UTC'), $(getconf _NPROCESSORS_ONLN) CPUs)"
