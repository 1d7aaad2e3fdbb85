#!/bin/bash
# master-xmeta.sh: one job of rcp-master submitted with rcpctl submit -A -X
# keeps the ACLs and xattrs of the fixture of xmeta-lib.sh, as cp -a does.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"
. "$(dirname "$0")/xmeta-lib.sh"

umask 022
fixture "$T/src"
cp -a "$T/src" "$T/cp"
t_check "cp -a keeps the fixture" same_dump "$T/src" "$T/cp"
t_check "rcp-master starts" m_start
t_check "submit -A -X --wait: exit 0" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" submit --wait -A -X "$T/src" "$T/job"
t_check "  the job succeeded" t_grep '^job 1 succeeded' "$T/out"
t_check "  the same dumps as the source" same_dump "$T/src" "$T/job"
ctl status --json 1 >"$T/status.json"
t_check "  the job's options are --acls and --xattrs" t_grep '"options":\["--acls","--xattrs"\]' "$T/status.json"
m_stop
t_done
