#!/usr/bin/env bash
# Uninstalls Gitea with its namespace and volume, and uStart's garden files.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

if cluster_gone; then
  say "there is no cluster on $USTART_HOST any more (uMetal is reset): no git server to remove"
else
  if helm status gitea --namespace ustart-git >/dev/null 2>&1; then
    say "uninstalling Gitea"
    helm uninstall gitea --namespace ustart-git --wait
  fi
  kubectl delete namespace ustart-git --ignore-not-found --wait >/dev/null
fi
rm -rf /etc/ustart/garden
say "the git server is removed"
