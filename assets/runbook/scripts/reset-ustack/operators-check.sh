#!/usr/bin/env bash
# Done when the operators' namespaces and CRDs are gone.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for namespace in yaook ingress-nginx cert-manager; do k8s_absent namespace "$namespace"; done
[[ -z $(kubectl get crd -o name | grep -E '\.(yaook\.cloud|cert-manager\.io)$' || true) ]]
[[ ! -e /etc/ustart/ustack && ! -e $USTART_ROOT/state/smoke-test.passed ]]
