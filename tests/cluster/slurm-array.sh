#!/bin/bash
# tests/cluster/slurm-array.sh BIN_DIR: the Slurm recipe of
# docs/scale-out.md (examples/scale-out/shards.sbatch, an array job: task
# I of S builds shard I) on a one-node Slurm cluster made for the test in
# a namespace host: munged, slurmctld and slurmd with their own keys,
# config and state in a temporary folder. Checked: sbatch --wait succeeds,
# the S shards hold exactly the records of one store, and a task that fails
# makes the array job fail. TAP; exit 0 when every check passed.
set -u
bin=$(cd "${1:?usage: slurm-array.sh BIN_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
S=2
HOSTS_SSH=0
. "$here/hosts.sh"
cluster_test slurm 4
chmod 755 "$work"
for p in munged slurmctld slurmd sbatch; do
    command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] ||
        { echo "not ok 1 - no $p (scripts/deps.sh installs munge, slurmctld, slurmd, slurm-client)"; exit 1; }
done
hosts_up_or_bail 1
cd "$work" || exit 1
node=$(hostname -s)
addr=$(host_addr 1)
mkdir -p state spool munge
dd if=/dev/urandom of=munge/key bs=1024 count=1 status=none
chmod 711 munge
chmod 400 munge/key
cat > slurm.conf <<CFG
ClusterName=vstest$$
SlurmctldHost=$node($addr)
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
NodeName=$node NodeAddr=$addr CPUs=$(nproc) State=UNKNOWN
PartitionName=main Nodes=$node Default=YES MaxTime=10 State=UP
CFG
# this machine mounts cgroup v1 controllers under a tmpfs, which slurmd's
# autodetection does not take; name the plugin (no cgroup is used: the
# process tracking and task plugins above are linuxproc and none)
cat > cgroup.conf <<CFG
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
CFG
export SLURM_CONF=$work/slurm.conf
on 1 munged --force --socket="$work/munge/socket" --key-file="$work/munge/key" \
    --pid-file="$work/munge/pid" --log-file="$work/munge/log" --seed-file="$work/munge/seed" 2>> up.err
start_on 1 ctld.out slurmctld -D -f "$SLURM_CONF"
start_on 1 slurmd.out slurmd -D -f "$SLURM_CONF" -N "$node"
up=ok
wait_port 1 6817 2>> up.err || up=
wait_port 1 6818 2>> up.err || up=
# the node comes up idle (bounded: 20 s)
k=0
while [ -n "$up" ] && [ "$k" -lt 200 ]; do
    on 1 sinfo -h -o %T 2>/dev/null | grep -q idle && break
    sleep 0.1
    k=$((k + 1))
done
[ "$k" -lt 200 ] || up=
check "a one-node Slurm cluster (munged, slurmctld, slurmd) on a namespace host" [ -n "$up" ]

tar -C "$root" -cf docs.tar docs
tar xf docs.tar
run_array() { # OUTDIR EMBED: the recipe's array job, waited for
    mkdir -p "$1"
    (cd "$1" && on 1 env PATH="$bin:$PATH" VS_CORPUS="$work/docs" VS_EMBED="$2" \
        timeout 120 sbatch --wait --array=0-$((S - 1)) --output=task-%a.log --chdir="$1" \
        "$root/examples/scale-out/shards.sbatch" > sbatch.out 2> sbatch.err)
}
run_array "$work/ok" "vs-embed --model hash"
rc=$?
check "sbatch --wait --array=0-$((S - 1)) shards.sbatch succeeds" [ "$rc" -eq 0 ]
"$bin/vs-chunk" docs | "$bin/vs-embed" --model hash 2>/dev/null | "$bin/vs-ingest" -q one.vs
same_ids() {
    local a b
    a=$(for i in $(seq 0 $((S - 1))); do "$bin/vs-index" list-ids "ok/kb-$i.vs"; done | sort)
    b=$("$bin/vs-index" list-ids one.vs | sort)
    [ -n "$a" ] && [ "$a" = "$b" ]
}
check "the $S array tasks' shards hold exactly the records of one store" same_ids
# an embedder that fails: every task fails, and so does the array job
run_array "$work/bad" "vs-embed --model no-such-model"
rc=$?
fails() { [ "$rc" -ne 0 ] && [ ! -e "$work/bad/kb-0.vs/MANIFEST" ]; }
check "a failing task makes sbatch --wait fail and leaves no shard" fails
if [ "$failed" -gt 0 ]; then
    tail -n 15 up.err slurmctld.log slurmd.log ok/sbatch.err ok/task-0.log 2>/dev/null | sed 's/^/# /'
fi
exit $((failed > 0))
