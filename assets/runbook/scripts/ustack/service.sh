#!/usr/bin/env bash
# Deploys one OpenStack service from its rendered Yaook resource and waits until it is up.
# The service is the step's last name part: ustack.keystone deploys keystone.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

service=${USTART_STEP#ustack.}
install_step_files
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
yaook_resource "$service" "$work/$service.yaml"
say "deploying $service"
kubectl apply -f "$work/$service.yaml"
wait_for "$service to be deployed by its operator" 2400 yaook_ready "$service"
say "$service is up"
