#!/bin/sh
# The ReadyToRun image cache of build/ReadyToRun.targets: CACHE/NAME/ENTRY/NAME, one ENTRY per input content and crossgen2
# version. Marks the entries a build used (their folder's time), then keeps the KEEP most recently used entries of each
# assembly and removes the others: BertSharp's own libraries get a new entry with every change, the packages' stay. Also
# removes the temporary files of a build that crashed while compiling (older than an hour: a compile takes seconds).
# Usage: prune-r2r-cache.sh CACHE KEEP [USED-ENTRY...]
set -eu
cache=$1 keep=$2
shift 2
[ -d "$cache" ] || exit 0
[ $# -eq 0 ] || touch -c "$@"
find "$cache" -mindepth 3 -maxdepth 3 -name '.tmp-*' -mmin +60 -exec rm -f {} +
for dir in "$cache"*/; do
  [ -d "$dir" ] || continue
  # Counted by the shell's own globbing: most assemblies hold no more than KEEP entries, and an up-to-date build runs this
  # for ~90 of them per project (forking ls and tail for each took 3-4 CPU-seconds of every ./test.sh).
  set -- "$dir"*
  [ $# -gt "$keep" ] || continue
  # Entry names are HASH-VERSION: no spaces or newlines, safe to read line by line.
  ls -1t "$dir" | tail -n +"$((keep + 1))" | while read -r entry; do rm -rf "$dir$entry"; done
done
