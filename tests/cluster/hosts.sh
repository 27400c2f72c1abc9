# shellcheck shell=bash
# tests/cluster/hosts.sh: test hosts on one machine, sourced by the cluster
# tests (tests/cluster/*.sh). Each host is a network namespace with its own
# address on a private bridge (itself in a namespace of its own, so nothing
# touches this machine's network); host 0 is the client that drives the
# test. Every host sees the same file system (namespaces split the network
# only), so the programs are the build's, and each host works in its own
# folder.
#
#   hosts_up N DIR      make hosts 0..N on 10.77.X.1.. (X from the PID),
#                       sshd on every host but 0 (not with HOSTS_SSH=0), a
#                       client key for root; DIR holds keys, configs, logs
#   start_on I LOG CMD... run CMD in the background on host I (stopped by
#                       hosts_down), its output to LOG
#   on I CMD...         run CMD in host I's namespace
#   host_addr I         the address of host I
#   ssh_opts            the ssh options that reach the hosts (-F config)
#   link_down I         cut host I off the bridge (ip link set down)
#   hosts_down          stop every daemon started here, delete the namespaces
#   cluster_test NAME PLAN  the start of a test script: $work (a new
#                       temporary folder, removed at exit unless KEEP is
#                       set), the EXIT trap (hosts_down), the TAP plan line
#   check NAME CMD...   run CMD: one TAP line "ok N - NAME" or "not ok"
#   hosts_up_or_bail N  hosts_up N $work/hosts, or the first check failed
#                       with the reason, and exit 1
#
# Needs root, iproute2, and for sshd: openssh-server, openssh-client.
# Names carry a prefix of this process (vsPID), so runs do not collide, and
# hosts_down (run by the caller's EXIT trap) removes everything.

HOSTS_PREFIX=${HOSTS_PREFIX:-vs$$}
HOSTS_NET=${HOSTS_NET:-10.77.$(( $$ % 200 + 20 ))}
HOSTS_N=0
HOSTS_DIR=
HOSTS_PIDS=

host_addr() { echo "$HOSTS_NET.$(( $1 + 1 ))"; }
on() { local i=$1; shift; ip netns exec "${HOSTS_PREFIX}h$i" "$@"; }
ssh_opts() { echo "-F $HOSTS_DIR/ssh_config"; }

hosts_fail() { echo "hosts.sh: $*" >&2; return 1; }

# wait_port I PORT: until host I listens on PORT (at most 10 s)
wait_port() {
    local n=0
    while [ "$n" -lt 100 ]; do
        if on "$1" ss -Htln "sport = :$2" 2>/dev/null | grep -q .; then
            return 0
        fi
        sleep 0.1
        n=$((n + 1))
    done
    hosts_fail "host $1 does not listen on port $2 after 10 s"
}

hosts_up() {
    local n=$1 i sw=${HOSTS_PREFIX}sw
    HOSTS_DIR=$2
    HOSTS_N=$n
    mkdir -p "$HOSTS_DIR"
    [ "$(id -u)" -eq 0 ] || { hosts_fail "needs root (network namespaces)"; return 1; }
    ip netns add "$sw" || { hosts_fail "ip netns add failed"; return 1; }
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
    ip -n "$sw" link set lo up
    for i in $(seq 0 "$n"); do
        local h=${HOSTS_PREFIX}h$i
        ip netns add "$h"
        ip link add "${HOSTS_PREFIX}a$i" type veth peer name "${HOSTS_PREFIX}b$i"
        ip link set "${HOSTS_PREFIX}a$i" netns "$h"
        ip link set "${HOSTS_PREFIX}b$i" netns "$sw"
        ip -n "$h" link set "${HOSTS_PREFIX}a$i" name eth0
        ip -n "$h" addr add "$(host_addr "$i")/24" dev eth0
        ip -n "$h" link set eth0 up
        ip -n "$h" link set lo up
        ip -n "$sw" link set "${HOSTS_PREFIX}b$i" master br0
        ip -n "$sw" link set "${HOSTS_PREFIX}b$i" up
    done
    [ "${HOSTS_SSH:-1}" = 0 ] || hosts_sshd
}

start_on() {
    local i=$1 log=$2
    shift 2
    ip netns exec "${HOSTS_PREFIX}h$i" "$@" > "$log" 2>&1 &
    HOSTS_PIDS="$HOSTS_PIDS $!"
    disown "$!" 2>/dev/null || true # hosts_down kills it: no job report
}

# sshd on hosts 1..N: a host key, root by key only, the client's key
hosts_sshd() {
    command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] ||
        { hosts_fail "no sshd (scripts/deps.sh installs openssh-server)"; return 1; }
    local d=$HOSTS_DIR i
    ssh-keygen -q -t ed25519 -N '' -f "$d/client_key" </dev/null
    ssh-keygen -q -t ed25519 -N '' -f "$d/host_key" </dev/null
    cp "$d/client_key.pub" "$d/authorized_keys"
    chmod 600 "$d/authorized_keys"
    mkdir -p /run/sshd
    cat > "$d/ssh_config" <<CFG
Host *
    User root
    IdentityFile $d/client_key
    IdentitiesOnly yes
    StrictHostKeyChecking no
    UserKnownHostsFile /dev/null
    LogLevel ERROR
    BatchMode yes
    ConnectTimeout 5
CFG
    for i in $(seq 1 "$HOSTS_N"); do
        cat > "$d/sshd_config.$i" <<CFG
ListenAddress $(host_addr "$i")
Port 22
HostKey $d/host_key
PidFile $d/sshd.$i.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AcceptEnv VS_*
CFG
        on "$i" /usr/sbin/sshd -f "$d/sshd_config.$i" -E "$d/sshd.$i.log" ||
            { hosts_fail "sshd did not start on host $i ($d/sshd.$i.log)"; return 1; }
        wait_port "$i" 22 || return 1
    done
}

link_down() { ip -n "${HOSTS_PREFIX}h$1" link set eth0 down; }

hosts_down() {
    local i f
    for f in "$HOSTS_DIR"/*.pid; do
        [ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null
    done
    for f in $HOSTS_PIDS; do kill "$f" 2>/dev/null; done
    for i in $(seq 0 "$HOSTS_N"); do
        # whatever still runs in the namespace (children of daemons)
        for f in $(ip netns pids "${HOSTS_PREFIX}h$i" 2>/dev/null); do kill -9 "$f" 2>/dev/null; done
        ip netns del "${HOSTS_PREFIX}h$i" 2>/dev/null
    done
    ip netns del "${HOSTS_PREFIX}sw" 2>/dev/null
    return 0
}

cluster_test() {
    work=$(mktemp -d "${TMPDIR:-/tmp}/vs-$1.XXXXXX")
    # shellcheck disable=SC2154
    trap 'hosts_down; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
    n=0 failed=0
    echo "1..$2"
}

check() {
    n=$((n + 1))
    if "${@:2}"; then echo "ok $n - $1"; else echo "not ok $n - $1"; failed=$((failed + 1)); fi
}

hosts_up_or_bail() {
    if ! hosts_up "$1" "$work/hosts" 2> "$work/up.err"; then
        echo "not ok 1 - hosts up: $(tail -n 1 "$work/up.err")"
        exit 1
    fi
}
