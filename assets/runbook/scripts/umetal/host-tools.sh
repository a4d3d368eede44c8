#!/usr/bin/env bash
# Installs the commands the runbook's later steps call that a minimal host may lack
# (packages/apt.yaml, group umetal.host-tools); packages already there are left alone.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

apt_install curl git openssl dmsetup iproute2 kmod procps iputils-ping ca-certificates
say "the runbook's tools are installed"
