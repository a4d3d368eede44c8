#!/usr/bin/env bash
# Done when ORC and the providers run and the cloud credential exists.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

step_files_current
kubectl get crd images.openstack.k-orc.cloud >/dev/null 2>&1
kubectl get namespace capo-system >/dev/null 2>&1
capo_cloud_config_complete
kubectl -n garden get secret "$USTART_GARDEN_CLUSTER-cloud-conf" >/dev/null 2>&1
