#!/usr/bin/env bash
# Done when a smoke test passed against exactly the uStack resources installed now.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
[[ -f $USTART_ROOT/state/smoke-test.passed ]]
[[ $(<"$USTART_ROOT/state/smoke-test.passed") == "$(ustack_digest)" ]]
