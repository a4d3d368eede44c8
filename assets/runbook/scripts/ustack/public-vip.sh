#!/usr/bin/env bash
# Checks that the public endpoints answer over HTTPS on the public VIP.
set -euo pipefail
# shellcheck source=lib.sh
. /var/lib/ustart/lib.sh

for service in keystone horizon; do
  name="$service.$USTART_DOMAIN"
  url="https://$name/"
  [[ $service == keystone ]] && url="https://$name/v3"
  say "asking $url through the public VIP $USTART_PUBLIC_VIP"
  curl --silent --show-error --fail --max-time 10 --cacert <(kubectl -n yaook get secret root-ca -o jsonpath='{.data.tls\.crt}' | base64 -d) \
    --resolve "$name:443:$USTART_PUBLIC_VIP" "$url" >/dev/null ||
    die "$url does not answer on $USTART_PUBLIC_VIP; check the provider network and the ingress Service"
done
say "the public endpoints answer on $USTART_PUBLIC_VIP"
