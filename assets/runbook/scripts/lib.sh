# shellcheck shell=bash
# uStart runbook library, sourced by every step script as /var/lib/ustart/lib.sh.
#
# It finds this host's files, loads the plan's values (the env file, every value already
# shell-quoted by uStart), and gives the steps a few helpers so that each script stays
# short: say what is done, install staged files only when they changed, wait for things,
# reach the cluster and the bundle.

set -euo pipefail
umask 022
export LC_ALL=C

# Tests point USTART_ROOT at a temporary folder; on a host it is always /var/lib/ustart.
USTART_ROOT=${USTART_ROOT:-/var/lib/ustart}
# The step's id is its folder name: /var/lib/ustart/steps/<id>/run.sh.
USTART_STEP=$(basename "$(dirname "$(readlink -f "$0")")")
KUBECONFIG=/etc/kubernetes/admin.conf
export KUBECONFIG

say() { printf '%s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# Which of the host folders is this host's: the only one holding an env file (the engine
# sends each host only its own; the check makes every host's upload folders, so empty ones
# of other hosts may exist), else the one whose planned management address is configured here.
ustart_host_dir() {
  local envs=("$USTART_ROOT"/hosts/*/env)
  if [[ ${#envs[@]} -eq 1 && -f ${envs[0]} ]]; then
    dirname "${envs[0]}"
    return
  fi
  local own env ip
  own=$(ip -o -4 addr show 2>/dev/null | awk '{ split($4, a, "/"); print a[1] }')
  for env in "$USTART_ROOT"/hosts/*/env; do
    ip=$(bash -c '. "$1"; printf "%s" "$USTART_MGMT_IP"' _ "$env")
    if grep -qxF -- "$ip" <<<"$own"; then
      dirname "$env"
      return
    fi
  done
  die "none of the planned management addresses is configured on $(hostname); is this the right host?"
}

USTART_HOST_DIR=$(ustart_host_dir)
# shellcheck source=env.sample
. "$USTART_HOST_DIR/env"
USTART_STEP_FILES="$USTART_HOST_DIR/steps/$USTART_STEP/files"

# The staged copy of a file this step declares, by its path on the host.
staged() { printf '%s/%s\n' "$USTART_STEP_FILES" "${1#/}"; }

# Each declared file as: staged-path destination mode owner.
step_files() {
  local table="$USTART_HOST_DIR/steps/$USTART_STEP/files.tsv"
  [[ -f $table ]] || return 0
  local name dest mode owner
  while IFS=$'\t' read -r name dest mode owner; do
    printf '%s\t%s\t%s\t%s\n' "$USTART_STEP_FILES/$name" "$dest" "$mode" "$owner"
  done <"$table"
}

# True when every declared file is installed with the staged content, mode and owner.
step_files_current() {
  local src dest mode owner
  while IFS=$'\t' read -r src dest mode owner; do
    [[ -f $dest ]] && cmp -s "$src" "$dest" || return 1
    [[ $(stat -c '%a %U:%G' "$dest") == "${mode#0} $owner" ]] || return 1
  done < <(step_files)
}

# Installs the declared files that differ; sets USTART_CHANGED=1 when any did (read by the
# step scripts that restart a service only after a change).
# shellcheck disable=SC2034
USTART_CHANGED=0
install_step_files() {
  local src dest mode owner
  while IFS=$'\t' read -r src dest mode owner; do
    if [[ -f $dest ]] && cmp -s "$src" "$dest" &&
      [[ $(stat -c '%a %U:%G' "$dest") == "${mode#0} $owner" ]]; then
      say "$dest is already up to date"
      continue
    fi
    install -D -m "$mode" -o "${owner%%:*}" -g "${owner##*:}" "$src" "$dest"
    say "installed $dest (mode $mode, owner $owner)"
    # shellcheck disable=SC2034
    USTART_CHANGED=1
  done < <(step_files)
}

# Waits until a command succeeds: wait_for "what" SECONDS command args...
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  say "waiting for $what (at most ${seconds}s)"
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not happen within ${seconds}s"
    sleep 2
  done
  say "$what: done"
}

# The one file in the bundle matching a pattern, such as charts/rook-ceph-*.tgz.
bundle_file() {
  local matches
  mapfile -t matches < <(compgen -G "$USTART_BUNDLE_DIR/$1" || true)
  ((${#matches[@]} == 1)) ||
    die "expected exactly one $1 in the bundle at $USTART_BUNDLE_DIR, found ${#matches[@]}; push the bundle for this site first"
  printf '%s\n' "${matches[0]}"
}

# Installs or upgrades a Helm release from a chart in the bundle: the exact file the bill of
# materials pins (USTART_CHART_<NAME>, charts/<name>-<version>.tgz), or, for a chart it does
# not list yet, the one file a glob matches.
helm_release() {
  local release=$1 chart=$2 namespace=$3 values=$4 file others
  if [[ $chart != *[*?[]* && ! -f $USTART_BUNDLE_DIR/$chart ]]; then
    others=$(
      cd "$USTART_BUNDLE_DIR" 2>/dev/null || exit 0
      compgen -G "${chart%-*}-*.tgz" | paste -sd' '
    ) || true
    die "the bundle at $USTART_BUNDLE_DIR has no $chart, the version the bill of materials pins${others:+ (it has $others)}; build the bundle with this uStart (ustart bundle create) and push it again"
  fi
  file=$(bundle_file "$chart")
  say "installing Helm release $release into namespace $namespace from $(basename "$file")"
  helm upgrade --install "$release" "$file" --namespace "$namespace" \
    --create-namespace --values "$values" --wait --timeout 20m
}

# True when a Helm release is deployed.
helm_deployed() {
  helm status "$1" --namespace "$2" -o json 2>/dev/null | grep -q '"status":"deployed"'
}

# An input from an earlier step (such as the kubeadm join material): a file the engine put
# in /var/lib/ustart/in, or the secret variable USTART_IN_<NAME> holding the output file's
# content in base64 (one line: the engine reads secrets line by line). Kept at mode 0600.
input_file() {
  local name=$1 path="$USTART_ROOT/in/$1"
  local var="USTART_IN_${name^^}"
  var=${var//-/_}
  if [[ -n ${!var:-} ]]; then
    install -d -m 0700 "$USTART_ROOT/in"
    (umask 077 && base64 -d <<<"${!var}" >"$path")
  fi
  [[ -s $path ]] || die "input $name is missing; run the step that produces it first"
  printf '%s\n' "$path"
}

# Where a step writes an output the engine collects; private to root.
output_file() {
  install -d -m 0700 "$USTART_ROOT/out"
  printf '%s/out/%s\n' "$USTART_ROOT" "$1"
}

# Keeps a copy of a system file before the first change, for the reset phase.
backup_once() {
  local file=$1 copy="$USTART_ROOT/backup${1}"
  [[ -e $copy || ! -e $file ]] && return 0
  install -d -m 0700 "$(dirname "$copy")"
  cp -a "$file" "$copy"
  say "kept a copy of $file for the reset"
}

# Puts a file back as it was before uStart changed it.
restore_backup() {
  local file=$1 copy="$USTART_ROOT/backup${1}"
  if [[ -e $copy ]]; then
    cp -a "$copy" "$file"
    rm -f "$copy"
    say "restored $file"
  fi
}

# Where the site registry keeps an image: its normalised upstream name (the bundle's layouts
# name every image by io.containerd.image.name, docs/bundle-format.md "Layout") with the
# registry as the repository's first path part, as `repository:tag`. A tag is kept; a
# digest-only reference gets a tag made from the digest (skopeo pushes to a tag), and is still
# pulled by its digest; no tag and no digest is `latest`.
site_registry_path() {
  local name=$1 repo tag
  repo=${name%@*}
  if [[ ${repo##*/} == *:* ]]; then
    tag=${repo##*:}
    repo=${repo%:*}
  elif [[ $repo != "$name" ]]; then
    tag=sha256-${name##*@sha256:}
  else
    tag=latest
  fi
  printf '%s:%s\n' "$repo" "$tag"
}

# Whether the kernel has a module, loaded or built in. /sys/module lists loaded modules and
# the built-in ones with parameters; modules.builtin lists every built-in one where modules
# are installed; on a kernel built without module support (no /proc/modules, no
# /lib/modules) what the module provides shows it: a file system, a /proc/sys folder.
kernel_has_module() {
  local module=$1
  [[ -d /sys/module/$module ]] && return 0
  grep -qs "/$module\.ko" "/lib/modules/$(uname -r)/modules.builtin" && return 0
  case $module in
    overlay) grep -qw overlay /proc/filesystems ;;
    br_netfilter) [[ -d /proc/sys/net/bridge ]] ;;
    *) return 1 ;;
  esac
}

# The non-comment lines of a file (modules-load.d, sysctl.d), without surrounding blanks.
config_lines() { sed -e 's/[#;].*//' -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$1"; }

# Whether apt has a package installed: dpkg's status is "<want> ok installed", and the want
# of a held package is "hold" (docs/upstream-facts.md#dpkg.status-field; kubernetes-packages
# holds kubeadm, kubelet and kubectl).
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -qE '^(install|hold) ok installed$'; }

# apt-get update, waiting for another apt (apt-daily, another step) to let go of the package
# lists: DPkg::Lock::Timeout waits for dpkg's locks only, not for the lists lock that update
# takes (docs/upstream-facts.md#apt.lock-timeout).
apt_update() {
  local tries=0 out
  until out=$(apt-get update -q -o DPkg::Lock::Timeout=900 2>&1); do
    if ! grep -q 'Could not get lock' <<<"$out" || ((++tries >= 90)); then
      printf '%s\n' "$out" >&2
      return 1
    fi
    say "another apt holds the package lists; waiting (${tries}/90)"
    sleep 10
  done
  printf '%s\n' "$out"
}

# Installs packages that are missing, from the configured sources (the bundle when there is one).
apt_install() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  ((${#missing[@]} == 0)) && {
    say "packages already installed: $*"
    return 0
  }
  say "installing packages: ${missing[*]}"
  # Steps run side by side on a host: wait for another step's apt to finish, do not fail.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=900 "${missing[@]}"
}

# Removes packages that are installed, with their configuration.
apt_purge() {
  local present=() p
  for p in "$@"; do pkg_installed "$p" && present+=("$p"); done
  ((${#present[@]} == 0)) && return 0
  say "removing packages: ${present[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -q -o DPkg::Lock::Timeout=900 "${present[@]}"
}

# True when the Kubernetes API answers through the control-plane VIP.
cluster_up() { [[ -f $KUBECONFIG ]] && kubectl get --raw /readyz >/dev/null 2>&1; }

# The planned hosts live in /etc/hosts between these markers; the rest of the file is kept.
HOSTS_BEGIN='# BEGIN uStart planned hosts'
HOSTS_END='# END uStart planned hosts'

hosts_without_block() { sed "/^$HOSTS_BEGIN\$/,/^$HOSTS_END\$/d" /etc/hosts; }

hosts_with_block() {
  hosts_without_block
  printf '%s\n' "$HOSTS_BEGIN"
  cat "$(staged /etc/ustart/hosts.block)"
  printf '%s\n' "$HOSTS_END"
}

hosts_block_current() { diff -q <(hosts_with_block) /etc/hosts >/dev/null; }

# Rewrites /etc/hosts in place (not by rename: in containers it is a bind mount).
write_hosts_block() {
  local next
  next=$(hosts_with_block)
  printf '%s\n' "$next" >/etc/hosts
}

# The programs the kubelet's systemd unit and its drop-ins start (ExecStart= lines that are
# not empty), one per line, from every place systemd reads them.
kubelet_exec_starts() {
  local dir
  for dir in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
    cat "$dir/kubelet.service" "$dir"/kubelet.service.d/*.conf 2>/dev/null || true
  done | sed -n 's/^ExecStart=[-@:+!]*\([^[:space:]]\{1,\}\).*/\1/p' | sort -u
}

# True when the kubelet's unit starts a kubelet binary that is there and executable: systemd
# reports `systemctl start` of a unit without Type= as a success even when its binary is
# missing (docs/upstream-facts.md#systemd.simple-start), and kubeadm then waits 4 minutes.
kubelet_unit_runs_kubelet() {
  local programs program
  programs=$(kubelet_exec_starts)
  [[ -n $programs ]] || return 1
  while IFS= read -r program; do
    [[ -x $program && -f $program ]] || return 1
  done <<<"$programs"
}

# The health checks Ceph reports through Rook's CephCluster status, one name a line, after a
# first line with the overall health (docs/upstream-facts.md#rook.status).
ceph_health_checks() {
  local status
  status=$(kubectl -n rook-ceph get cephcluster ceph -o jsonpath='{.status.ceph.health}{"\n"}{.status.ceph.details}' 2>/dev/null) || return 1
  head -n 1 <<<"$status"
  tail -n +2 <<<"$status" | grep -oE '"[A-Z0-9_]+":\{' | tr -d '":{' || true
}

# True when Ceph is healthy: HEALTH_OK, or HEALTH_WARN raised only by the checks this site's
# plan explains (USTART_CEPH_ACCEPTED_WARNINGS: too few OSDs for three copies on a small site,
# docs/upstream-facts.md#ceph.fresh-warnings). Any other warning, a crash or clock skew among
# them, is a problem to look at.
ceph_healthy() {
  local checks health check
  checks=$(ceph_health_checks) || return 1
  health=$(head -n 1 <<<"$checks")
  [[ $health == HEALTH_OK ]] && return 0
  [[ $health == HEALTH_WARN ]] || return 1
  while IFS= read -r check; do
    [[ -n $check ]] || continue
    [[ " ${USTART_CEPH_ACCEPTED_WARNINGS[*]} " == *" $check "* ]] || return 1
  done < <(tail -n +2 <<<"$checks")
}

# What keeps the cluster from being healthy, one plain sentence a line (nothing when it is
# healthy): nodes not Ready, kube-system pods not running, Ceph not HEALTH_OK. Only reads.
health_problems() {
  local node not_running
  for node in "${USTART_NODE_NAMES[@]}"; do
    if [[ $(kubectl get node "$node" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) != True ]]; then
      say "node $node is not Ready"
    fi
  done
  not_running=$(kubectl -n kube-system get pods --no-headers 2>/dev/null | awk '$3 != "Running" && $3 != "Completed" { print $1 }')
  [[ -z $not_running ]] || say "kube-system pods not running: $(paste -sd' ' <<<"$not_running")"
  ceph_healthy || say "Ceph is not healthy: $(ceph_health_checks 2>/dev/null | paste -sd' ' || echo 'no status')"
}

# True when a disk has no partition table, file system or LVM signature.
disk_is_blank() { [[ -z $(wipefs --noheadings "$1" 2>/dev/null) ]]; }

# True when this host holds no cluster credentials any more (uMetal's reset removed them):
# the resets of uStack and uGarden then have nothing left to remove and stop early.
cluster_gone() { [[ ! -f $KUBECONFIG ]]; }

# True when a Kubernetes object does not exist: k8s_absent KIND NAME [-n NAMESPACE].
k8s_absent() {
  if kubectl get "$@" >/dev/null 2>&1; then return 1; fi
}

# The Yaook operators the uStack phase installs (chart names without "-operator").
# Placement is Nova's (docs/upstream-facts.md#yaook.kinds): there is no placement operator.
# shellcheck disable=SC2034
YAOOK_OPERATORS=(infra keystone keystone-resources glance nova nova-compute neutron neutron-ovn cinder horizon)

# The OpenStack services in the order their resets remove them: the reverse of the install.
# shellcheck disable=SC2034
# placement: a site installed before Placement moved into Nova may still have its own.
YAOOK_REMOVAL_ORDER=(horizon cinder neutron nova placement glance keystone)

# True when a Yaook service resource reports that its operator finished: yaook_ready keystone.
# docs/upstream-facts.md#yaook.status: the phase name is not verified against Yaook's source.
yaook_ready() {
  local phase
  phase=$(kubectl -n yaook get "$(yaook_kind "$1")" "$1" -o jsonpath='{.status.phase}' 2>/dev/null || true)
  [[ $phase == Updated ]]
}

# A service's Yaook resource as it is applied: the rendered file with what only Rook knows
# filled in, the Ceph monitors and the cluster's fsid. Rook keeps the monitors in its
# ConfigMap rook-ceph-mon-endpoints as "a=10.0.0.1:6789,b=…" and ceph.conf's mon_host is that
# list without the names, as Rook's own toolbox writes it (docs/upstream-facts.md#rook.mon-endpoints);
# the fsid is the key fsid of the Secret rook-ceph-mon (docs/upstream-facts.md#rook.fsid).
# yaook_resource SERVICE OUT
yaook_resource() {
  local file=/etc/ustart/ustack/$1.yaml endpoints fsid mon mons=()
  if grep -q '@ceph-' "$file"; then
    endpoints=$(kubectl -n rook-ceph get configmap rook-ceph-mon-endpoints -o jsonpath='{.data.data}' 2>/dev/null || true)
    fsid=$(kubectl -n rook-ceph get secret rook-ceph-mon -o jsonpath='{.data.fsid}' 2>/dev/null | base64 -d 2>/dev/null || true)
    [[ -n $endpoints ]] || die "Rook's ConfigMap rook-ceph-mon-endpoints has no monitors; is Ceph running (umetal.ceph)?"
    [[ $fsid =~ ^[0-9a-f-]{36}$ ]] || die "Rook's Secret rook-ceph-mon has no fsid; is Ceph running (umetal.ceph)?"
    IFS=, read -ra mons <<<"$endpoints"
    for mon in "${!mons[@]}"; do mons[mon]=${mons[mon]#*=}; done
    sed -e "s|@ceph-mon-host@|$(IFS=,; printf '%s' "${mons[*]}")|g" -e "s|@ceph-fsid@|$fsid|g" "$file" >"$2"
  else
    cp "$file" "$2"
  fi
}

# A YAML single-quoted scalar of $1 (a quote inside is written twice), for values that may
# hold any character, such as a password. printf is a builtin: the value is never on argv.
yaml_quote() { local q="'"; printf "'%s'" "${1//$q/$q$q}"; }

# Writes a private clouds.yaml (cloud "ustack") for uStack's admin into the folder $1, with
# the site's root CA beside it, and exports OS_CLIENT_CONFIG_FILE and OS_CLOUD for the
# openstack client. Every credential comes from the Secret the Keystone operator made
# (docs/upstream-facts.md#yaook.admin-credentials: user, project and domains included; the
# user is not "admin"); the auth URL is not in that Secret, so it is uStart's own Keystone
# name. The password goes from kubectl to the file through a pipe and builtins only.
openstack_admin_cloud() {
  local dir=$1 key
  local -A v=()
  (umask 077 && : >"$dir/clouds.yaml" && : >"$dir/ca.crt")
  for key in OS_USERNAME OS_PASSWORD OS_PROJECT_NAME OS_USER_DOMAIN_NAME OS_PROJECT_DOMAIN_NAME; do
    v[$key]=$(kubectl -n yaook get secret keystone-admin -o jsonpath="{.data.$key}" 2>/dev/null | base64 -d 2>/dev/null || true)
    [[ -n ${v[$key]} ]] || die "the Secret yaook/keystone-admin has no $key; is Keystone deployed (ustack.keystone)?"
  done
  site_ca_pem "$dir/ca.crt"
  {
    printf 'clouds:\n  ustack:\n    auth:\n'
    printf '      auth_url: https://keystone.%s/v3\n' "$USTART_DOMAIN"
    printf '      username: %s\n' "$(yaml_quote "${v[OS_USERNAME]}")"
    printf '      password: %s\n' "$(yaml_quote "${v[OS_PASSWORD]}")"
    printf '      project_name: %s\n' "$(yaml_quote "${v[OS_PROJECT_NAME]}")"
    printf '      user_domain_name: %s\n' "$(yaml_quote "${v[OS_USER_DOMAIN_NAME]}")"
    printf '      project_domain_name: %s\n' "$(yaml_quote "${v[OS_PROJECT_DOMAIN_NAME]}")"
    printf '    region_name: %s\n    cacert: %s/ca.crt\n' "$USTART_OPENSTACK_REGION" "$dir"
  } >"$dir/clouds.yaml"
  export OS_CLIENT_CONFIG_FILE=$dir/clouds.yaml OS_CLOUD=ustack
}

# True when CAPO's credential Secret of the workload cluster exists with the site CA
# (docs/upstream-facts.md#capo.credentials-secret); one made before it carried the CA is not.
capo_cloud_config_complete() {
  [[ -n $(kubectl -n garden get secret "$USTART_GARDEN_CLUSTER-cloud-config" -o jsonpath='{.data.cacert}' 2>/dev/null) ]]
}

# The site's root CA certificate (public; its key stays in the Secret) into the file $1.
site_ca_pem() {
  kubectl -n yaook get secret root-ca -o jsonpath='{.data.tls\.crt}' 2>/dev/null | base64 -d >"$1" 2>/dev/null || true
  grep -q 'BEGIN CERTIFICATE' "$1" || die "the Secret yaook/root-ca holds no CA certificate; run ustack.infra first"
}

# Where a host's trust store keeps the site's root CA (the handover report names it).
site_ca_path() { printf '/usr/local/share/ca-certificates/ustart-%s.crt\n' "${USTART_SITE//[^A-Za-z0-9_.-]/-}"; }

# The Kubernetes kind of a Yaook service: keystone → keystonedeployments.yaook.cloud.
yaook_kind() { printf '%sdeployments.yaook.cloud\n' "$1"; }

# A digest of the uStack resources as installed, so a smoke test is known to have passed
# against exactly these.
ustack_digest() { cat /etc/ustart/ustack/*.yaml | sha256sum | cut -d' ' -f1; }

# Runs a function with Gitea reachable on 127.0.0.1:13000 and a private netrc for it, so the
# admin password is never on a command line. The body is a subshell so that its EXIT trap is
# its own: the caller's trap stays in place, and the port-forward is stopped and waited for
# (the next step binds the same fixed port) however the function ends. The function runs as a
# plain command, not in an `||` list, where bash would ignore `set -e` inside it.
with_gitea() (
  work=$(mktemp -d)
  forward=
  trap 'if [[ -n $forward ]]; then kill "$forward" 2>/dev/null || true; wait "$forward" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
  (
    umask 077
    printf 'machine 127.0.0.1 login %s password %s\n' \
      "$(kubectl -n ustart-git get secret gitea-admin -o jsonpath='{.data.username}' | base64 -d)" \
      "$(kubectl -n ustart-git get secret gitea-admin -o jsonpath='{.data.password}' | base64 -d)" >"$work/netrc"
  )
  kubectl -n ustart-git port-forward svc/gitea-http 13000:3000 >/dev/null 2>&1 &
  forward=$!
  wait_for "Gitea's API" 60 curl -sf --netrc-file "$work/netrc" http://127.0.0.1:13000/api/v1/version
  GITEA_NETRC=$work/netrc GITEA_WORK=$work "$@"
)

# Inside with_gitea: the repository exists and clusters/ holds exactly the rendered cluster
# and its addons' ConfigMaps as built from the bundle now.
repository_current() {
  local raw=http://127.0.0.1:13000/api/v1/repos/ustart/garden/raw/clusters/$USTART_GARDEN_CLUSTER
  addon_configmaps "$GITEA_WORK/addons.yaml"
  garden_cluster_manifest "$GITEA_WORK/cluster.yaml"
  curl -sf --netrc-file "$GITEA_NETRC" "$raw.yaml" -o "$GITEA_WORK/current.yaml" &&
    cmp -s "$GITEA_WORK/current.yaml" "$GITEA_WORK/cluster.yaml" &&
    curl -sf --netrc-file "$GITEA_NETRC" "$raw-addons.yaml" -o "$GITEA_WORK/current-addons.yaml" &&
    cmp -s "$GITEA_WORK/current-addons.yaml" "$GITEA_WORK/addons.yaml"
}

# The workload cluster's addons as ConfigMaps for their ClusterResourceSets, into $1: each
# holds the upstream manifests from the bundle as published, images named as upstream names
# them. The list is the rendered /etc/ustart/garden/workload-addons.tsv (or $2;
# docs/ugarden-workload-cluster.md).
addon_configmaps() {
  local out=$1 list kind name key file current=''
  list=${2:-/etc/ustart/garden/workload-addons.tsv}
  : >"$out"
  while IFS=$'\t' read -r kind name key file; do
    [[ $kind == configmap ]] || continue
    if [[ $name != "$current" ]]; then
      printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\ndata:\n' "$name" >>"$out"
      current=$name
    fi
    printf '  %s: |2\n' "$key" >>"$out"
    awk '{ print "    " $0 }' "$(bundle_file "$file")" >>"$out"
  done <"$list"
}

# Inside with_gitea: creates the repository when missing and commits the rendered cluster.
push_cluster() {
  repository_current && {
    say "the repository already holds the rendered cluster"
    return 0
  }
  curl -sf --netrc-file "$GITEA_NETRC" -H 'Content-Type: application/json' \
    -d '{"name":"garden","default_branch":"main","auto_init":true}' \
    http://127.0.0.1:13000/api/v1/user/repos >/dev/null || true
  local repo=$GITEA_WORK/garden
  gitea_git clone --quiet http://127.0.0.1:13000/ustart/garden.git "$repo"
  garden_cluster_manifest "$GITEA_WORK/cluster.yaml"
  install -D -m 0644 "$GITEA_WORK/cluster.yaml" "$repo/clusters/$USTART_GARDEN_CLUSTER.yaml"
  addon_configmaps "$GITEA_WORK/addons.yaml"
  install -D -m 0644 "$GITEA_WORK/addons.yaml" "$repo/clusters/$USTART_GARDEN_CLUSTER-addons.yaml"
  git -C "$repo" add clusters
  if git -C "$repo" diff --cached --quiet; then
    say "the repository already holds the rendered cluster"
    return 0
  fi
  git -C "$repo" -c user.name=uStart -c "user.email=ustart@$USTART_DOMAIN" commit --quiet -m "uStart: workload cluster $USTART_GARDEN_CLUSTER"
  gitea_git -C "$repo" push --quiet origin main
}

# git with Gitea's credentials as an HTTP header given through git's GIT_CONFIG_* environment
# (git >= 2.31), never through its command line.
gitea_git() {
  local auth
  auth=$(awk '{ printf "%s:%s", $4, $6 }' "$GITEA_NETRC" | base64 -w0)
  GIT_TERMINAL_PROMPT=0 GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader \
    GIT_CONFIG_VALUE_0="Authorization: Basic $auth" git "$@"
}

# Creates a Secret holding a user and a random password, unless it exists already:
# ensure_password_secret NAMESPACE NAME USER_KEY USER PASSWORD_KEY [KEY=VALUE...]
# The password goes from openssl to a private file to kubectl; never to argv or the log.
ensure_password_secret() {
  local namespace=$1 name=$2 user_key=$3 user=$4 password_key=$5 file status=0
  shift 5
  kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
  kubectl -n "$namespace" get secret "$name" >/dev/null 2>&1 && return 0
  say "generating a password into the Secret $namespace/$name"
  file=$(mktemp)
  (umask 077 && printf '%s=%s\n%s=%s\n' "$user_key" "$user" "$password_key" "$(openssl rand -hex 24)" >"$file")
  if (($# > 0)); then printf '%s\n' "$@" >>"$file"; fi
  kubectl -n "$namespace" create secret generic "$name" --from-env-file="$file" >/dev/null || status=$?
  rm -f "$file"
  return "$status"
}

# Copies a Secret's type and data to another namespace (and name), leaving its metadata
# (owner, uid, version) behind: copy_secret FROM_NAMESPACE NAME TO_NAMESPACE [TO_NAME].
# The data goes from kubectl to kubectl through a pipe, never through argv or the log.
copy_secret() {
  local from=$1 name=$2 to=$3 target=${4:-$2} type
  type=$(kubectl -n "$from" get secret "$name" -o jsonpath='{.type}')
  {
    printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"%s","namespace":"%s"},"type":"%s","data":' \
      "$target" "$to" "$type"
    kubectl -n "$from" get secret "$name" -o jsonpath='{.data}'
    printf '}\n'
  } | kubectl apply -f - >/dev/null
}

# Host networking (umetal.host-network, docs/host-network.md). The rendered table, one link a
# line: action kind name link vlan mtu address mode hash-policy ("-" when empty); action
# "check" marks the management path, which uStart never changes.
HOST_NETWORK_LINKS=/etc/ustart/host-network/links.tsv
# shellcheck disable=SC2034
HOST_NETWORK_STAGED=/etc/ustart/host-network/persist
# Where the OS reads the persisted file: netplan on Ubuntu, ifupdown on Debian.
host_network_config_path() {
  case $USTART_OS_RELEASE in
    debian-*) printf '/etc/network/interfaces.d/ustart\n' ;;
    *) printf '/etc/netplan/60-ustart.yaml\n' ;;
  esac
}

# The table's rows, optionally only those of one action: host_network_rows [make|check].
host_network_rows() {
  [[ -f $HOST_NETWORK_LINKS ]] || return 0
  awk -F'\t' -v want="${1:-}" 'NF >= 9 && (want == "" || $1 == want)' "$HOST_NETWORK_LINKS"
}

link_mtu() { cat "/sys/class/net/$1/mtu" 2>/dev/null || echo 0; }
link_is_up() { ip -o link show dev "$1" 2>/dev/null | grep -q '<[^>]*\bUP\b'; }
link_has_ipv4() { ip -o -4 addr show dev "$1" 2>/dev/null | awk '{ print $4 }' | grep -qxF -- "$2"; }

# What differs between the host and the planned links (all, or those of one action), one
# sentence a line; nothing when all is as planned: host_network_problems all|make|check.
# Only reads.
host_network_problems() {
  local action kind name link vlan mtu address mode have m
  while IFS=$'\t' read -r action kind name link vlan mtu address mode _; do
    if [[ ! -d /sys/class/net/$name ]]; then
      say "$name is missing"
      continue
    fi
    have=$(link_mtu "$name")
    if [[ $action == check ]]; then
      link_is_up "$name" || say "management interface $name is down"
      ((have >= mtu)) || say "management interface $name has MTU $have; the networks on it need $mtu"
      continue
    fi
    [[ $have == "$mtu" ]] || say "$name has MTU $have, planned $mtu"
    link_is_up "$name" || say "$name is down"
    case $kind in
      vlan)
        ip -d -o link show dev "$name" | grep -q "@$link:.* vlan protocol 802.1Q id $vlan " ||
          say "$name is not VLAN $vlan on $link"
        ;;
      bond)
        [[ $(cut -d' ' -f1 "/sys/class/net/$name/bonding/mode" 2>/dev/null) == "$mode" ]] ||
          say "bond $name is not in mode $mode"
        for m in ${link//,/ }; do
          [[ $(basename "$(readlink "/sys/class/net/$m/master" 2>/dev/null || true)") == "$name" ]] ||
            say "$m is not a member of bond $name"
        done
        ;;
    esac
    if [[ $address != - ]]; then link_has_ipv4 "$name" "$address" || say "$name lacks address $address"; fi
  done < <(host_network_rows "${1#all}")
}

# The provider network's input (generator provider-network-config, key<TAB>value lines) into
# the associative array pn, read without evaluating anything: the names come from the plan.
PROVIDER_NETWORK_CONFIG=/etc/ustart/ustack/provider-network.tsv
declare -A pn=()
provider_network_read() {
  local k v
  while IFS=$'\t' read -r k v; do [[ -n $k ]] && pn[$k]=$v; done <"$PROVIDER_NETWORK_CONFIG"
}

# Prints what is missing of the provider network in Neutron, one line each ("network",
# "subnet", "router", "router-gateway"); dies when something of that name exists but is not
# what the plan asks for, since uStart never changes or deletes what it did not make.
# Needs openstack_admin_cloud first.
provider_network_missing() {
  local id value subnet_net gateway
  if ! id=$(openstack network show "${pn[network]}" -f value -c id 2>/dev/null); then
    printf 'network\nsubnet\n'
  else
    for pair in "router:external=External" "provider:network_type=flat" "provider:physical_network=${pn[physnet]}"; do
      value=$(openstack network show "${pn[network]}" -f value -c "${pair%%=*}")
      [[ $value == "${pair#*=}" ]] ||
        die "Neutron has a network ${pn[network]} with ${pair%%=*} $value, not ${pair#*=}; uStart does not change a network it did not make: rename the provider network in the plan, or remove that network (openstack network delete ${pn[network]}) if nothing uses it"
    done
    if subnet_net=$(openstack subnet show "${pn[subnet]}" -f value -c network_id 2>/dev/null); then
      [[ $subnet_net == "$id" ]] ||
        die "Neutron has a subnet ${pn[subnet]} on another network ($subnet_net), not on ${pn[network]} ($id); rename or remove it"
    else
      printf 'subnet\n'
    fi
  fi
  [[ ${pn[router]} != - ]] || return 0
  if ! gateway=$(openstack router show "${pn[router]}" -f value -c external_gateway_info 2>/dev/null); then
    printf 'router\n'
  elif [[ -z $id ]] || [[ $gateway != *"\"network_id\": \"$id\""* ]]; then
    [[ $gateway == null || -z $gateway ]] ||
      die "the router ${pn[router]} has its gateway on another network ($gateway); uStart does not move it"
    printf 'router-gateway\n'
  fi
}

# The OpenStack objects of uGarden's workload cluster (generator garden-objects-config,
# key<TAB>value lines) into the associative array go, read without evaluating anything.
GARDEN_OBJECTS_CONFIG=/etc/ustart/garden/openstack-objects.tsv
declare -A go=()
garden_objects_read() {
  local k v
  while IFS=$'\t' read -r k v; do [[ -n $k ]] && go[$k]=$v; done <"$GARDEN_OBJECTS_CONFIG"
}

# Where the workload VMs' SSH private key is kept on this host and collected for the handover.
garden_ssh_key() { output_file garden-ssh-key; }

# Where the workload API's floating IP address is kept: Neutron picks it when
# ugarden.openstack-objects creates it, ugarden.repository writes it into the cluster file.
garden_api_address_file() { printf '%s/garden/api-address\n' "$USTART_ROOT"; }

# One field of an openstack client's JSON output (-f json) on stdin: json_field KEY.
json_field() { python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin).get(sys.argv[1])))' "$1"; }

# The rendered workload cluster with the API's floating IP written in for its placeholder,
# into $1 (docs/ugarden-workload-cluster.md); dies when ugarden.openstack-objects has not made it.
garden_cluster_manifest() {
  local file address
  file=$(garden_api_address_file)
  [[ -s $file ]] ||
    die "the workload API has no floating IP yet ($file is missing): run ugarden.openstack-objects first"
  address=$(<"$file")
  [[ $address =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "$file holds no IPv4 address: run ugarden.openstack-objects again"
  sed "s|@garden-api-address@|$address|g" /etc/ustart/garden/clusters/workload-cluster.yaml >"$1"
}

# Prints what uStack lacks of the workload cluster's objects, one line each ("flavor <name>",
# "image", "keypair", "network", "subnet", "router", "router-interface", "api-port",
# "api-address"); dies when something of that name exists but is not what the plan asks for,
# or when the external network (made by ustack.provider-network, not here) is missing, since
# uStart never changes or deletes what it did not make. Needs openstack_admin_cloud first.
garden_objects_missing() {
  local role name want have external status nova own key
  external=$(openstack network show "${go[external-network]}" -f value -c router:external 2>/dev/null) ||
    die "Neutron has no network ${go[external-network]}; it is the plan's provider network, which ustack.provider-network creates: run the uStack phase (openstack.externalNetwork set) first"
  [[ $external == External ]] ||
    die "the network ${go[external-network]} is not external (router:external $external); CAPO needs an external network for the workload cluster's floating IP"
  garden_network_missing
  for role in cp worker; do
    name=${go[$role-flavor]}
    if openstack flavor show "$name" -f value -c id >/dev/null 2>&1; then
      # One field a call: the order of several -c columns in the output is not the order asked.
      have=$(for field in vcpus ram disk; do openstack flavor show "$name" -f value -c "$field"; done | paste -sd/)
      want="${go[$role-vcpus]}/${go[$role-ram]}/${go[$role-disk]}"
      [[ $have == "$want" ]] ||
        die "Nova has a flavor $name with vcpus/ram/disk $have, not $want; uStart does not change a flavor: remove it (openstack flavor delete $name) if no server uses it"
    else
      printf 'flavor %s\n' "$name"
    fi
  done
  if status=$(openstack image show "${go[image]}" -f value -c status 2>/dev/null); then
    [[ $status == active ]] ||
      die "Glance has the image ${go[image]} with status $status, not active (an upload that did not finish?); remove it (openstack image delete ${go[image]}) and run the step again"
  else
    printf 'image\n'
  fi
  key=$(garden_ssh_key)
  if nova=$(openstack keypair show --public-key "${go[keypair]}" 2>/dev/null); then
    [[ -s $key ]] ||
      die "Nova has a keypair ${go[keypair]} whose private key this host does not hold ($key); uStart does not replace it: remove it (openstack keypair delete ${go[keypair]}) if no machine uses it, and run the step again"
    own=$(ssh-keygen -y -f "$key" | cut -d' ' -f1-2)
    [[ $(cut -d' ' -f1-2 <<<"$nova") == "$own" ]] ||
      die "Nova's keypair ${go[keypair]} is not the key in $key; remove the keypair (openstack keypair delete ${go[keypair]}) if no machine uses it, and run the step again"
  else
    printf 'keypair\n'
  fi
}

# The workload cluster's network, its router to the external network, the port holding the
# API's virtual IP and the floating IP on it (docs/ugarden-workload-cluster.md), as
# garden_objects_missing prints them. Neutron's answers are read as the client prints them
# (docs/upstream-facts.md#osc-port-create, #osc-router-interfaces, #osc-floating-ip, #osc-json).
garden_network_missing() {
  local net_id subnet_id ext_id have gateway address file
  ext_id=$(openstack network show "${go[external-network]}" -f value -c id)
  if ! net_id=$(openstack network show "${go[network]}" -f value -c id 2>/dev/null); then
    printf 'network\nsubnet\nrouter\nrouter-interface\napi-port\napi-address\n'
    return 0
  fi
  if subnet_id=$(openstack subnet show "${go[subnet]}" -f value -c id 2>/dev/null); then
    have=$(openstack subnet show "${go[subnet]}" -f value -c network_id)/$(openstack subnet show "${go[subnet]}" -f value -c cidr)
    [[ $have == "$net_id/${go[subnet-range]}" ]] ||
      die "Neutron has a subnet ${go[subnet]} with network/cidr $have, not ${go[network]} ($net_id)/${go[subnet-range]}; uStart does not change it: remove it (openstack subnet delete ${go[subnet]}) if no port uses it"
  else
    printf 'subnet\n'
  fi
  if gateway=$(openstack router show "${go[router]}" -f json -c external_gateway_info 2>/dev/null); then
    [[ $(json_field external_gateway_info <<<"$gateway") == *"\"network_id\": \"$ext_id\""* ]] ||
      die "Neutron has a router ${go[router]} whose gateway is not on ${go[external-network]}; uStart does not change it: set its gateway (openstack router set --external-gateway ${go[external-network]} ${go[router]}) or remove it"
    if [[ -z ${subnet_id:-} ]]; then
      printf 'router-interface\n'
    else
      have=$(openstack router show "${go[router]}" -f json -c interfaces_info | json_field interfaces_info)
      [[ $have == *"\"subnet_id\": \"$subnet_id\""* ]] || printf 'router-interface\n'
    fi
  else
    printf 'router\nrouter-interface\n'
  fi
  if have=$(openstack port show "${go[api-port]}" -f json -c fixed_ips 2>/dev/null); then
    [[ $(json_field fixed_ips <<<"$have") == *"\"ip_address\": \"${go[api-vip]}\""* ]] ||
      die "Neutron has a port ${go[api-port]} without the API's virtual IP ${go[api-vip]}; uStart does not change it: remove it (openstack port delete ${go[api-port]}) and run the step again"
    address=$(openstack floating ip list --port "${go[api-port]}" -f value -c 'Floating IP Address')
    file=$(garden_api_address_file)
    if [[ -z $address ]]; then
      printf 'api-address\n'
    elif [[ $(wc -l <<<"$address") -gt 1 ]]; then
      die "the port ${go[api-port]} has several floating IPs ($(paste -sd' ' <<<"$address")); keep one (openstack floating ip delete …) and run the step again"
    elif [[ ! -s $file || $(<"$file") != "$address" ]]; then
      printf 'api-address\n'
    fi
  else
    printf 'api-port\napi-address\n'
  fi
}

# The Secret garden/<cluster>-cloud-conf (type addons.cluster.x-k8s.io/resource-set) that the
# CCM's ClusterResourceSet applies as kube-system/cloud-config: cloud.conf with CAPO's
# application credential (never the admin password) and the site's root CA as ca-file
# (docs/upstream-facts.md#ccm.openstack). Built from CAPO's Secret through private files, so
# the credential is on no command line and in no log.
ensure_cloud_conf_secret() {
  local capo=$USTART_GARDEN_CLUSTER-cloud-config name=$USTART_GARDEN_CLUSTER-cloud-conf work status=0
  kubectl -n garden get secret "$name" >/dev/null 2>&1 && return 0
  say "making the cloud provider's cloud.conf for $USTART_GARDEN_CLUSTER from CAPO's credential"
  work=$(mktemp -d)
  (
    umask 077
    kubectl -n garden get secret "$capo" -o jsonpath='{.data.clouds\.yaml}' | base64 -d >"$work/clouds.yaml"
    kubectl -n garden get secret "$capo" -o jsonpath='{.data.cacert}' | base64 -d >"$work/ca.crt"
    grep -q 'BEGIN CERTIFICATE' "$work/ca.crt" || die "the Secret garden/$capo holds no cacert; rerun ugarden.capi"
    awk -v url="https://keystone.$USTART_DOMAIN/v3" -v region="$USTART_OPENSTACK_REGION" '
      { v = $2; gsub(/^"|"$/, "", v) }
      $1 == "application_credential_id:" { id = v }
      $1 == "application_credential_secret:" { secret = v }
      END {
        if (id == "" || secret == "") exit 1
        printf "[Global]\nauth-url=%s\napplication-credential-id=%s\napplication-credential-secret=%s\nregion=%s\nca-file=/etc/config/ca.crt\n", url, id, secret, region
      }' "$work/clouds.yaml" >"$work/cloud.conf" ||
      die "the Secret garden/$capo holds no application credential; rerun ugarden.capi"
    printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: cloud-config\n  namespace: kube-system\ntype: Opaque\ndata:\n  cloud.conf: %s\n  ca.crt: %s\n' \
      "$(base64 -w0 "$work/cloud.conf")" "$(base64 -w0 "$work/ca.crt")" >"$work/inner.yaml"
    printf '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"%s","namespace":"garden"},"type":"addons.cluster.x-k8s.io/resource-set","data":{"cloud-config.yaml":"%s"}}\n' \
      "$name" "$(base64 -w0 "$work/inner.yaml")" >"$work/outer.json"
  ) || status=$?
  ((status == 0)) && kubectl apply -f "$work/outer.json" >/dev/null || status=$?
  rm -rf "$work"
  return "$status"
}
