#!/usr/bin/env bash
# Installs ORC and Cluster API with the OpenStack provider from the bundle's files, and gives
# CAPO an application credential for uStack.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
# CAPO v0.12 watches ORC's Image objects and cannot start without their CRD; ORC is installed
# on its own, before CAPO (docs/upstream-facts.md#capo.orc).
if k8s_absent crd images.openstack.k-orc.cloud ||
  k8s_absent deployment orc-controller-manager -n orc-system; then
  say "installing the OpenStack Resource Controller (ORC) from the bundle"
  kubectl apply -f "$USTART_ORC_INSTALL" >/dev/null
fi
if ! kubectl get namespace capo-system >/dev/null 2>&1; then
  say "running clusterctl init with the providers from the bundle"
  clusterctl init --config /etc/ustart/garden/clusterctl.yaml --core cluster-api --bootstrap kubeadm \
    --control-plane kubeadm --infrastructure openstack --wait-providers
fi
kubectl create namespace garden --dry-run=client -o yaml | kubectl apply -f - >/dev/null
if ! capo_cloud_config_complete; then
  say "creating an application credential for Cluster API in uStack"
  command -v openstack >/dev/null || apt_install python3-openstackclient
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (
    umask 077
    openstack_admin_cloud "$work"
    # Keystone keeps one credential of a name per user: one left by an earlier try or a
    # reset of uGarden would refuse the create (409), and its secret is lost anyway.
    openstack application credential delete "capi-$USTART_GARDEN_CLUSTER" >/dev/null 2>&1 || true
    openstack application credential create \
      "capi-$USTART_GARDEN_CLUSTER" -f value -c id -c secret >"$work/credential"
    { read -r id && read -r secret; } <"$work/credential"
    printf 'clouds:\n  ustack:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: https://keystone.%s/v3\n      application_credential_id: %s\n      application_credential_secret: "%s"\n    region_name: %s\n' \
      "$USTART_DOMAIN" "$id" "$secret" "$USTART_OPENSTACK_REGION" >"$work/capo.yaml"
  )
  # CAPO trusts only the Secret's cacert key, not a cacert path inside clouds.yaml
  # (docs/upstream-facts.md#capo.credentials-secret): the site's root CA goes there.
  kubectl -n garden delete secret "$USTART_GARDEN_CLUSTER-cloud-config" "$USTART_GARDEN_CLUSTER-cloud-conf" \
    --ignore-not-found >/dev/null
  kubectl -n garden create secret generic "$USTART_GARDEN_CLUSTER-cloud-config" \
    --from-file=clouds.yaml="$work/capo.yaml" --from-file=cacert="$work/ca.crt" >/dev/null
fi
# The workload cluster's cloud provider and Cinder CSI log in with the same credential.
ensure_cloud_conf_secret
say "Cluster API with CAPO is ready"
