#!/usr/bin/env bash
# Runs Gitea as the site's git server, with a generated admin password in a Secret.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

install_step_files
ensure_password_secret ustart-git gitea-admin username ustart password "email=ustart@$USTART_DOMAIN"
helm_release gitea "$USTART_CHART_GITEA" ustart-git /etc/ustart/garden/gitea.yaml
say "the site's git server is running"
