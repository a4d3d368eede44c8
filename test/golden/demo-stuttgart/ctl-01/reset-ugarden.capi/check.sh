#!/usr/bin/env bash
# uStart: the check of this step, from its runbook YAML.
set -euo pipefail
. /var/lib/ustart/lib.sh
k8s_absent crd clusters.cluster.x-k8s.io && k8s_absent crd images.openstack.k-orc.cloud
