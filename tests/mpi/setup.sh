#!/usr/bin/env bash
# Idempotent install of what the multi-process tests need: Open MPI from Debian (mpirun and libmpi), when root and missing.
# Without it those tests are skipped with the reason, not failed.
set -euo pipefail
# grep reads all of ldconfig's output (not -q): under pipefail an early exit would make ldconfig's SIGPIPE a failure.
if command -v mpirun >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep 'libmpi\.so' >/dev/null; then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  packages=(openmpi-bin libopenmpi-dev)
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null; }
else
  echo "tests/mpi/setup.sh: Open MPI is missing and this is not root (apt-get install openmpi-bin libopenmpi-dev); the MPI tests will be skipped." >&2
fi
