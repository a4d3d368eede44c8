#!/usr/bin/env bash
# Installs Flux from the bundle and points it at the site's git repository.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
say "installing Flux from the bundle"
kubectl apply -f "$(bundle_file 'files/flux/install.yaml')" >/dev/null
wait_for "Flux's controllers" 600 kubectl -n flux-system rollout status deployment/source-controller --timeout=10s
# Flux reads the repository with Gitea's admin credentials, copied into flux-system.
copy_secret ustart-git gitea-admin flux-system garden-git
kubectl apply -f /etc/ustart/garden/flux-sync.yaml
say "Flux applies clusters/ from the site's repository"
