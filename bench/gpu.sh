#!/usr/bin/env bash
# The GPU half of `make bench` (`make bench-gpu`): the backend and rollouts sections on a
# real-size architecture (a random-initialised Qwen2 at the 0.5B or 1B shape, see
# _real_model.py) served with `--device cuda`, each section in its own run so that one
# section's failure or time limit keeps the other's figures.
#
#   bench/gpu.sh OUT [SIZE ...] [-- RUN_ARGS ...]     e.g. bench/gpu.sh /tmp/gpu 0.5b 1b -- --set step_rounds=8
#
# Writes OUT/SIZE-SECTION/results.{json,md}. BENCH_SECTIONS (default "rollouts backend") picks
# the sections; BENCH_DEADLINE_S (seconds from the start; unset: none) skips a run that would
# start after it, for a machine lent for a fixed time.
set -uo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
out=${1:?usage: bench/gpu.sh OUT [SIZE ...] [-- RUN_ARGS ...]}
shift
sizes=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do sizes+=("$1"); shift; done
[ $# -gt 0 ] && shift
[ ${#sizes[@]} -gt 0 ] || sizes=(0.5b)
started=$SECONDS
status=0
for size in "${sizes[@]}"; do
  for section in ${BENCH_SECTIONS:-rollouts backend}; do
    if [ -n "${BENCH_DEADLINE_S:-}" ] && [ $((SECONDS - started)) -ge "$BENCH_DEADLINE_S" ]; then
      echo "bench/gpu.sh: past BENCH_DEADLINE_S, skipping $size $section" >&2
      status=1
      continue
    fi
    echo "=== $size $section ($((SECONDS - started)) s)" >&2
    "$py" bench/run.py --only "$section" --device cuda --model-size "$size" \
      --out "$out/$size-$section" "$@" || status=1
  done
done
exit $status
