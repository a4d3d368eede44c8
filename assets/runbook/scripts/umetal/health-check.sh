#!/usr/bin/env bash
# Done when the handover file is in place and the cluster is healthy. Only reads: it writes
# nothing and reports what is not healthy yet in plain words, not as errors (the step then
# runs and is the one that fails).
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if ! step_files_current; then
  say "the handover file is missing or differs from the rendered one"
  exit 1
fi
problems=$(health_problems)
if [[ -n $problems ]]; then
  say "not healthy yet:"
  while IFS= read -r problem; do say "  $problem"; done <<<"$problems"
  exit 1
fi
