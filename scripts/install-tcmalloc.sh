#!/usr/bin/env bash
# Idempotent install of tcmalloc (Debian/Ubuntu: libtcmalloc-minimal4), the allocator BertSharp runs with: ./bert preloads it.
# With glibc malloc, libtorch's large tensors are mapped and unmapped on every step (page faults) and resident memory grows
# over long training runs; tcmalloc keeps it flat (bench/README.md, "Allocator"). Installs when root with apt-get, else says how.
set -uo pipefail
for lib in /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4 /usr/lib64/libtcmalloc_minimal.so.4 /usr/lib/libtcmalloc_minimal.so.4; do
  [[ -f "$lib" ]] && exit 0
done
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libtcmalloc-minimal4 >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libtcmalloc-minimal4 >/dev/null 2>&1; } \
    && exit 0
fi
echo "install-tcmalloc.sh: could not install tcmalloc; run 'sudo apt-get install libtcmalloc-minimal4' (BertSharp works without it, with more memory and page faults in training)." >&2
exit 0
