#!/bin/sh
# k3box node entrypoint: makes a Docker container a good home for k3s, then
# becomes k3s (exec, so k3s keeps PID 1 and its own signal and cgroup handling).
#
# Every value used here comes from the environment, from files in the node or
# from k3s' own arguments; nothing in this file is generated.
#
# Switches (env vars on the node; default on): K3BOX_FIX_CGROUPV2,
# K3BOX_FIX_MOUNTS, K3BOX_FIX_DNS, K3BOX_FIX_HOSTS. K3BOX_HOST_IP overrides the
# address host.k3box.internal points at (default: the network's gateway), and
# K3BOX_HOST_NAME that name. Extra host entries are read from /etc/k3box/hosts
# (hosts-file syntax). A node with a memory limit has /etc/k3box/meminfo.

K3S_BIN=/bin/k3s
ALIASES_FILE=/etc/k3box/hosts
MEMINFO_FILE=/etc/k3box/meminfo
HOST_NAME=${K3BOX_HOST_NAME:-host.k3box.internal}
STATE_DIR=/run/k3box

log() {
  echo "k3box-entrypoint: $*" >&2
}

# Whether a switch is on: anything but an explicit "off" value is on.
switched_on() {
  case "$1" in
    false | FALSE | False | 0 | no | off) return 1 ;;
  esac
  return 0
}

# ---- what k3s was asked to do ------------------------------------------------

ROLE=${1:-agent}
DATA_DIR=/var/lib/rancher/k3s
COREDNS_DISABLED=false

scan_args() {
  prev=
  for arg in "$@"; do
    case "$prev" in
      --data-dir | -data-dir | -d) DATA_DIR=$arg ;;
      --disable | -disable) disables "$arg" ;;
    esac
    case "$arg" in
      --data-dir=* | -data-dir=* | -d=*) DATA_DIR=${arg#*=} ;;
      --disable=* | -disable=*) disables "${arg#*=}" ;;
    esac
    prev=$arg
  done
}

disables() {
  case ",$1," in
    *,coredns,*) COREDNS_DISABLED=true ;;
  esac
}

# ---- helpers ------------------------------------------------------------------

# The IPv4 gateway of the default route, from the kernel's routing table.
default_gateway() {
  awk '
    function hex(s,   i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1; return n }
    NR > 1 && $2 == "00000000" && $8 == "00000000" && $3 != "00000000" {
      g = $3
      printf "%d.%d.%d.%d\n", hex(substr(g, 7, 2)), hex(substr(g, 5, 2)), hex(substr(g, 3, 2)), hex(substr(g, 1, 2))
      exit
    }' /proc/net/route
}

# The port Docker's embedded DNS server listens on at 127.0.0.11, for udp or tcp.
# The sockets live in this network namespace, so the kernel's table lists them.
embedded_dns_port() {
  awk -v want="$2" '
    function hex(s,   i, n) { n = 0; for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789ABCDEF", toupper(substr(s, i, 1))) - 1; return n }
    NR > 1 {
      split($2, local, ":")
      # 0B00007F is 127.0.0.11; tcp sockets must be listening (0A), udp ones unconnected (07).
      if (local[1] == "0B00007F" && $4 == want) { print hex(local[2]); exit }
    }' "/proc/net/$1"
}

# merge_hosts MODE WANTED TARGET: prints TARGET with the host entries of WANTED
# in it. Lines of TARGET that name any host WANTED names are dropped and WANTED's
# lines appended, so merging twice gives the same result as merging once.
# MODE "hosts": TARGET is a hosts file. MODE "coredns": TARGET is k3s' coredns
# manifest, and the entries go into the NodeHosts key of the coredns ConfigMap.
merge_hosts() {
  awk -v mode="$1" '
    function names_wanted(line,   f, n, i) {
      n = split(line, f, /[ \t]+/)
      if (n > 0 && f[1] == "") { for (i = 1; i < n; i++) f[i] = f[i + 1]; n-- }
      if (n < 2 || f[1] ~ /^#/) return 0
      for (i = 2; i <= n; i++) if (f[i] in wanted_name) return 1
      return 0
    }
    function emit_wanted(indent,   i) { for (i = 1; i <= nwant; i++) print indent want[i] }
    function flush_doc(   i, is_cm, is_coredns, key, data, j) {
      is_cm = 0; is_coredns = 0; key = 0; data = 0
      for (i = 1; i <= ndoc; i++) {
        if (doc[i] ~ /^kind:[ \t]*ConfigMap[ \t]*$/) is_cm = 1
        if (doc[i] ~ /^  name:[ \t]*"?coredns"?[ \t]*$/) is_coredns = 1
        if (!key && doc[i] ~ /^  NodeHosts:/) key = i
        if (!data && doc[i] ~ /^data:[ \t]*$/) data = i
      }
      if (!(is_cm && is_coredns)) { for (i = 1; i <= ndoc; i++) print doc[i]; ndoc = 0; return }
      if (key) {
        for (i = 1; i < key; i++) print doc[i]
        print "  NodeHosts: |"
        for (j = key + 1; j <= ndoc && (doc[j] ~ /^    / || doc[j] ~ /^[ \t]*$/); j++) {
          if (doc[j] ~ /^[ \t]*$/ || names_wanted(doc[j])) continue
          print doc[j]
        }
        emit_wanted("    ")
        for (i = j; i <= ndoc; i++) print doc[i]
      } else if (data) {
        for (i = 1; i <= data; i++) print doc[i]
        print "  NodeHosts: |"
        emit_wanted("    ")
        for (i = data + 1; i <= ndoc; i++) print doc[i]
      } else {
        for (i = 1; i <= ndoc; i++) print doc[i]
        print "data:"
        print "  NodeHosts: |"
        emit_wanted("    ")
      }
      ndoc = 0
    }
    FNR == NR {
      if (NF >= 2 && $1 !~ /^#/) {
        want[++nwant] = $0
        for (i = 2; i <= NF; i++) wanted_name[$i] = 1
      }
      next
    }
    mode == "hosts" { if (!names_wanted($0)) print; next }
    /^---/ { flush_doc(); print; next }
    { doc[++ndoc] = $0 }
    END {
      if (mode == "hosts") emit_wanted("")
      else flush_doc()
    }
  ' "$2" "$3"
}

# The iptables flavour (nft or legacy) Docker wrote this namespace's DNS rules
# with, so that k3box's rules sit next to them; plain iptables otherwise.
docker_iptables() {
  for flavour in nft legacy; do
    if command -v "iptables-$flavour-save" >/dev/null 2>&1 &&
      "iptables-$flavour-save" -t nat 2>/dev/null | grep -q DOCKER_OUTPUT; then
      echo "iptables-$flavour"
      return
    fi
  done
  if command -v iptables >/dev/null 2>&1; then echo iptables; fi
}

# ---- the fixes ----------------------------------------------------------------

# cgroup v2: a cgroup with processes in it cannot hand controllers to child
# cgroups, so every process leaves the container's root cgroup for "init" and
# the root enables all its controllers for its children (kubelet's pods). k3s
# does the same itself when it is PID 1; doing it here also covers k3s started
# under an init process and versions that do not.
fix_cgroupv2() {
  root=/sys/fs/cgroup
  if [ ! -f "$root/cgroup.controllers" ]; then
    log "cgroupv2: cgroup v1 host, nothing to do"
    return
  fi
  if ! mkdir -p "$root/init" 2>/dev/null; then
    log "cgroupv2: failed: cannot create $root/init (is the container privileged?)"
    return
  fi
  moved=0
  for pid in $(cat "$root/cgroup.procs"); do
    # A process may exit between listing and moving; that is fine.
    if echo "$pid" >"$root/init/cgroup.procs" 2>/dev/null; then moved=$((moved + 1)); fi
  done
  enable=
  for c in $(cat "$root/cgroup.controllers"); do enable="${enable:+$enable }+$c"; done
  if echo "$enable" >"$root/cgroup.subtree_control" 2>/dev/null; then
    log "cgroupv2: moved $moved process(es) to $root/init; child cgroups get $enable"
  else
    log "cgroupv2: failed: moved $moved process(es) to $root/init but cannot enable $enable"
  fi
}

# Mount propagation: kubelet and CSI drivers mount volumes that must be seen
# by pods, which needs / to propagate mounts (Docker makes it private).
fix_mounts() {
  if mount --make-rshared / 2>/dev/null; then
    log "mounts: / is now rshared"
  else
    log "mounts: failed: mount --make-rshared / (is the container privileged?)"
  fi
}

# Memory: cadvisor reads the machine's memory from /proc/meminfo, which shows
# the host's, not the container's limit. The limit's own meminfo is mounted over
# it (mounts do not survive a restart, so this runs on every start), and an
# empty edac directory hides ECC memory controllers, which cadvisor would
# otherwise count instead.
fix_meminfo() {
  if [ ! -f "$MEMINFO_FILE" ]; then
    log "meminfo: no memory limit, nothing to do"
    return
  fi
  if mount --bind "$MEMINFO_FILE" /proc/meminfo 2>/dev/null; then
    log "meminfo: /proc/meminfo shows $(awk '/^MemTotal:/ { print $2 " " $3 }' /proc/meminfo)"
  else
    log "meminfo: failed: mount --bind $MEMINFO_FILE /proc/meminfo"
  fi
  if [ -d /sys/devices/system/edac ] && ! mount -t tmpfs -o ro,size=4k k3box-edac /sys/devices/system/edac 2>/dev/null; then
    log "meminfo: failed: cannot hide /sys/devices/system/edac"
  fi
}

# DNS: Docker's embedded DNS server answers at 127.0.0.11, an address that
# means "this network namespace" and so cannot be reached from a pod's. Queries
# to the network's gateway address are redirected to the embedded server
# instead, both those made in the node (OUTPUT) and those routed in from pods
# (PREROUTING), and resolv.conf, which k3s hands to coredns and to pods, names
# the gateway.
fix_dns() {
  gw=$1
  if [ -z "$gw" ]; then
    log "dns: skipped: no default gateway (host network?)"
    return
  fi
  udp=$(embedded_dns_port udp 07)
  tcp=$(embedded_dns_port tcp 0A)
  if [ -z "$udp" ] || [ -z "$tcp" ]; then
    log "dns: skipped: Docker's embedded DNS server is not listening at 127.0.0.11 (default bridge network?)"
    return
  fi
  ipt=$(docker_iptables)
  if [ -z "$ipt" ]; then
    log "dns: failed: iptables not found"
    return
  fi
  chain=K3BOX_DNS
  "$ipt" -t nat -N "$chain" 2>/dev/null || "$ipt" -t nat -F "$chain"
  if ! "$ipt" -t nat -A "$chain" -p udp --dport 53 -j DNAT --to-destination "127.0.0.11:$udp" ||
    ! "$ipt" -t nat -A "$chain" -p tcp --dport 53 -j DNAT --to-destination "127.0.0.11:$tcp"; then
    log "dns: failed: cannot add NAT rules with $ipt"
    return
  fi
  for hook in OUTPUT PREROUTING; do
    "$ipt" -t nat -C "$hook" -d "$gw/32" -j "$chain" 2>/dev/null ||
      "$ipt" -t nat -I "$hook" 1 -d "$gw/32" -j "$chain"
  done
  # Packets from pods rewritten to a loopback address must be routable.
  echo 1 >/proc/sys/net/ipv4/conf/all/route_localnet 2>/dev/null
  if grep -q '^nameserver[[:space:]]*127\.0\.0\.11[[:space:]]*$' /etc/resolv.conf; then
    # Docker bind-mounts resolv.conf: write through it, never replace it.
    sed "s/^nameserver[[:space:]]*127\.0\.0\.11[[:space:]]*\$/nameserver $gw/" /etc/resolv.conf >"$STATE_DIR/resolv.conf" &&
      cat "$STATE_DIR/resolv.conf" >/etc/resolv.conf
  fi
  log "dns: $gw:53 now reaches Docker's DNS (udp 127.0.0.11:$udp, tcp 127.0.0.11:$tcp; $ipt); resolv.conf names $gw"
}

# Host entries: host.k3box.internal and the cluster's host aliases in
# /etc/hosts (Docker rewrites it on start, so this runs on every start).
fix_hosts() {
  wanted=$1
  if merge_hosts hosts "$wanted" /etc/hosts >"$STATE_DIR/hosts" && cat "$STATE_DIR/hosts" >/etc/hosts; then
    log "hosts: /etc/hosts has $(awk '{ printf "%s%s", sep, $2; sep = ", " }' "$wanted")"
  else
    log "hosts: failed: cannot update /etc/hosts"
  fi
}

# The same entries for pods: k3s writes its coredns manifest on every start,
# after this script has handed over, so a background job waits for the new file
# and merges the entries into its NodeHosts. The merge is idempotent, so the
# file left by the previous start (entries already in) is told apart from the
# freshly written one (entries missing).
watch_coredns() {
  wanted=$1
  manifest="$DATA_DIR/server/manifests/coredns.yaml"
  staged="$(dirname "$manifest")/.coredns.yaml.k3box"
  (
    # Out of the root cgroup, so k3s can still enable controllers there.
    if [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir -p /sys/fs/cgroup/k3box 2>/dev/null; then
      echo 0 >/sys/fs/cgroup/k3box/cgroup.procs 2>/dev/null
    fi
    umask 077
    while :; do
      if [ -f "$manifest" ] && merge_hosts coredns "$wanted" "$manifest" >"$staged" && ! cmp -s "$staged" "$manifest"; then
        # Let a write in progress finish before reading the file for good.
        sleep 1
        if merge_hosts coredns "$wanted" "$manifest" >"$staged" && mv -f "$staged" "$manifest"; then
          log "hosts: coredns NodeHosts in $manifest has the entries"
          exit 0
        fi
        log "hosts: failed to update $manifest; retrying"
      fi
      sleep 2
    done
  ) </dev/null &
}

# ---- main -------------------------------------------------------------------

scan_args "$@"
mkdir -p "$STATE_DIR"

if switched_on "${K3BOX_FIX_CGROUPV2:-true}"; then fix_cgroupv2; else log "cgroupv2: skipped (K3BOX_FIX_CGROUPV2=$K3BOX_FIX_CGROUPV2)"; fi
if switched_on "${K3BOX_FIX_MOUNTS:-true}"; then fix_mounts; else log "mounts: skipped (K3BOX_FIX_MOUNTS=$K3BOX_FIX_MOUNTS)"; fi
fix_meminfo

GATEWAY=$(default_gateway)
if switched_on "${K3BOX_FIX_DNS:-true}"; then fix_dns "$GATEWAY"; else log "dns: skipped (K3BOX_FIX_DNS=$K3BOX_FIX_DNS)"; fi

if switched_on "${K3BOX_FIX_HOSTS:-true}"; then
  host_ip=${K3BOX_HOST_IP:-$GATEWAY}
  wanted="$STATE_DIR/wanted-hosts"
  : >"$wanted"
  if [ -f "$ALIASES_FILE" ]; then grep -v -e '^[[:space:]]*#' -e '^[[:space:]]*$' "$ALIASES_FILE" >>"$wanted"; fi
  # A host alias for host.k3box.internal itself wins over the default.
  if [ -n "$host_ip" ] && ! awk -v n="$HOST_NAME" '{ for (i = 2; i <= NF; i++) if ($i == n) found = 1 } END { exit !found }' "$wanted"; then
    echo "$host_ip $HOST_NAME" >>"$wanted"
  fi
  if [ ! -s "$wanted" ]; then
    log "hosts: skipped: no gateway and no host aliases"
  else
    fix_hosts "$wanted"
    # Only servers hold k3s' manifests.
    if [ "$ROLE" = server ]; then
      if [ "$COREDNS_DISABLED" = true ]; then
        log "hosts: coredns is disabled; NodeHosts left alone"
      else
        watch_coredns "$wanted"
      fi
    fi
  fi
else
  log "hosts: skipped (K3BOX_FIX_HOSTS=$K3BOX_FIX_HOSTS)"
fi

exec "$K3S_BIN" "$@"
