#!/bin/bash
# xmeta-user.sh: -p as a user without privileges, on a tree of their own
# with user.* xattrs, access and default ACLs -- and trusted.* and
# security.capability, which root put there and only root may copy.  rcp
# copies what the user may (the same dumps as rsync -aAX run by that user),
# says once that the rest is not copied, and succeeds; so does a job of a
# system-wide rcp-master submitted by that user, which runs as them.  Needs
# root (to make the user, trusted.*, setcap).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"
. "$(dirname "$0")/xmeta-lib.sh"

USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
as_user() { setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$@"; }
umask 022
chmod 755 "$T"

S=$T/src
user_fixture "$S" "$USER_"
t_check "the fixture: user.*, trusted.*, a capability, ACLs" t_grep 'security.capability' <(dump "$S")
t_check "  the user cannot see trusted.*" test -z "$(as_user getfattr -h -d -m trusted. "$S/f-xattr" 2>/dev/null)"

mkdir "$T/home" && chown "$USER_:$USER_" "$T/home"
t_check "rsync -aAX as the user runs" t_run 0 "$T/rsync.out" as_user rsync -aAX "$S/" "$T/home/rsync/"
t_check "  user.* and ACLs kept, nothing else" t_grep 'user.bin' <(dump "$T/home/rsync")

t_check "rcp -p as the user: exit 0" t_run 0 "$T/p.out" as_user "$RCP" -p "$S" "$T/home/p"
t_check "  the same dumps as rsync -aAX by the user" same_dump "$T/home/rsync" "$T/home/p"
t_check "  user.* and ACLs are there" t_grep 'default:user:1:rwx' <(dump "$T/home/p")
t_check "  no trusted.*, no security.*" test -z "$(getfattr -R -h -d -m '^(trusted|security)[.]' "$T/home/p" 2>/dev/null)"
t_check "  one notice naming what is not copied" test "$(grep -c 'not running as root: extended attributes outside user' "$T/p.out")" = 1
t_check "  which names the attribute" t_grep "'security.capability' of '.*/plain/c" "$T/p.out"
t_check "  and no error" test "$(grep -c '^error' "$T/p.out")" = 0
t_check "rcmp as the user: acl and xattr equal where it can see" t_run 0 "$T/cmp.out" as_user "$RCMP" --metadata-compare "f:acl,xattr d:acl,xattr" "$S" "$T/home/p"

# Through the service: a system-wide master runs the user's job as them.
t_check "system-wide master starts" m_start --socket-mode 0666 --workers 1
t_check "the user's job -p: exit 0" t_run 0 "$T/job.out" as_user timeout -k 5 60 "$RCPCTL" --socket "$SOCK" submit --wait -p "$S" "$T/home/job"
t_check "  the job succeeded" t_grep '^job 1 succeeded' "$T/job.out"
t_check "  the same dumps as rsync -aAX by the user" same_dump "$T/home/rsync" "$T/home/job"
t_check "  owned by the user" test -d "$T/home/job" -a -z "$(find "$T/home/job" ! -user "$USER_")"
ctl status --json 1 >"$T/status.json"
t_check "  the job says once what was not copied" test "$(jq -r '.warnings[]' "$T/status.json" | grep -c 'not running as root')" = 1
t_check "  and so does submit --wait" test "$(grep -c "warning: not running as root.*'security.capability'" "$T/job.out")" = 1
t_check "  no error" test "$(jq -r '.errors_total' "$T/status.json")" = 0
m_stop
t_done
