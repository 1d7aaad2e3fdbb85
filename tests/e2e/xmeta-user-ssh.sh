#!/bin/bash
# xmeta-user-ssh.sh: -p over SSH as a user without privileges, on a tree of
# their own with user.* xattrs, access and default ACLs -- and trusted.* and
# security.capability, which root put there and only root may copy
# (user_fixture, as xmeta-user.sh).  The user runs rcp and logs in to the
# harness's sshd as themselves, so both agents run as them: local->host,
# host->host and host->local copies get what rsync -aAX run by that user
# locally gets, one notice of the source agent naming what it left out,
# and exit 0, as the local copy (which also copies from below a directory
# the user may search but not list, and into one they may not list).  A root's sibling with a capability,
# not copied, is not named.  Then a source agent of root, which reads trusted.* and
# security.*, sends them to the user's destination agent, which drops what
# it cannot set, with one notice.  The account is the test's own, removed
# at exit with its processes (sshd_account).  Needs root.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/xmeta-lib.sh"

umask 022
sshd_setup
U=rcpxu$$
t_check "a fresh account that logs in to the harness's sshd" sshd_account "$U"
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env HOME="$HOME_OF_ACCOUNT" "$@"; }
SH=127.0.0.2 DH=127.0.0.3
# rcp and rcpd under names of the test's own (remote-lib.sh does the same),
# so that what is left of them is told from other tests' processes.
mkdir "$T/bin"
ln -s "$RCP_BUILDDIR/rcp" "$T/bin/rcp"
ln -s "$RCP_BUILDDIR/rcpd" "$T/bin/rcpd"
XRCP=$T/bin/rcp XRCPD=$T/bin/rcpd
UR() { as_user timeout -k 5 120 "$XRCP" --ssh-config "$ACCOUNT_SSH_CONFIG" --rcpd-path "$XRCPD" "$@"; }
ours() { pgrep -f "^$XRCPD --role |^$XRCP( |\$)"; }
logins() { grep -c "Accepted publickey for $U " "$SSHD_LOG"; }
# notices FILE: the lines saying what a non-root copy leaves out.
notices() { grep -c 'not running as root: extended attributes outside user' "$1"; }

S=$T/src H=$HOME_OF_ACCOUNT
user_fixture "$S" "$U"
t_check "the fixture: user.*, trusted.*, a capability, ACLs" t_grep 'security.capability' <(dump "$S")
t_check "  the user cannot see trusted.*" test -z "$(as_user getfattr -h -d -m trusted. "$S/f-xattr" 2>/dev/null)"
t_check "the user logs in: ssh as the user runs a command" t_run 0 "$T/ssh.out" as_user ssh -F "$ACCOUNT_SSH_CONFIG" "$SH" id -un
t_check "  as the user" t_grep "^$U\$" "$T/ssh.out"
# $T is the user's to search, not to list (0711, as many homes are): rcp
# copies from below it as cp and rsync do.
t_check "the user may not list \$T" test -z "$(as_user ls "$T" 2>/dev/null)"
t_check "rsync -aAX as the user runs" t_run 0 "$T/rsync.out" as_user rsync -aAX "$S/" "$H/rsync/"
t_check "  user.* and ACLs kept, nothing else" t_grep 'user.bin' <(dump "$H/rsync")
t_check "  no trusted.*, no security.*" test -z "$(getfattr -R -h -d -m '^(trusted|security)[.]' "$H/rsync" 2>/dev/null)"

# copied MODE DIR OUT: what every copy by the user must be.
copied() {
	t_check "$1:   the same dumps as rsync -aAX by the user" same_dump "$H/rsync" "$2"
	t_check "$1:   user.* and ACLs are there" t_grep 'default:user:1:rwx' <(dump "$2")
	t_check "$1:   no trusted.*, no security.*" test -z "$(getfattr -R -h -d -m '^(trusted|security)[.]' "$2" 2>/dev/null)"
	t_check "$1:   owned by the user" test -d "$2" -a -z "$(find "$2" ! -user "$U")"
	t_check "$1:   the data equal" t_run 0 "$T/cmp.out" "$RCMP" --content "$S" "$2"
	t_check "$1:   no error" test "$(grep -c '^error' "$3")" = 0
}

t_check "local: rcp -p as the user, from below a directory it cannot list: exit 0" t_run 0 "$T/l2l.out" as_user "$RCP" -p "$S" "$H/l2l"
copied l2l "$H/l2l" "$T/l2l.out"
t_check "l2l:   one notice" test "$(notices "$T/l2l.out")" = 1

# --- local -> host: a local source agent and the destination's, both the user's ---
n0=$(logins)
t_check "l2h: rcp -p as the user: exit 0" t_run 0 "$T/l2h.out" UR -p "$S" "$DH:$H/l2h"
t_check "l2h:   logged in as the user" test "$(logins)" -gt "$n0"
copied l2h "$H/l2h" "$T/l2h.out"
t_check "l2h:   one notice naming what is not copied" test "$(notices "$T/l2h.out")" = 1
t_check "l2h:   which names the attribute" t_grep "not running as root: .*'(security.capability|trusted.t)'" "$T/l2h.out"

# --- host -> host ------------------------------------------------------------------
t_check "h2h: rcp -p as the user: exit 0" t_run 0 "$T/h2h.out" UR -p "$SH:$S" "$DH:$H/h2h"
copied h2h "$H/h2h" "$T/h2h.out"
t_check "h2h:   one notice, from the source agent" test "$(notices "$T/h2h.out")" = 1
t_check "h2h:   which names the attribute" t_grep "\[source\] .*not running as root: .*'(security.capability|trusted.t)'" "$T/h2h.out"
t_check "h2l: rcp -p as the user: exit 0" t_run 0 "$T/h2l.out" UR -p "$SH:$S" "$H/h2l"
copied h2l "$H/h2l" "$T/h2l.out"
t_check "h2l:   one notice, from the source agent" test "$(notices "$T/h2l.out")" = 1
t_check "h2h: -A -X as the user: exit 0" t_run 0 "$T/ax.out" UR -A -X "$SH:$S" "$DH:$H/ax"
t_check "h2h:   the same dumps as rsync -aAX by the user" same_dump "$H/rsync" "$H/ax"
t_check "h2h:   one notice" test "$(notices "$T/ax.out")" = 1

# --- into a directory the user may write and search but not list --------------------
# (0300, as a drop box; with a default ACL, which what rcp creates in it
# inherits and rcp then makes the source's): as rsync -aAX into it.
install -d -m 700 -o "$U" -g "$U" "$H/drop"
setfacl -d -m u:2:rwx "$H/drop" && chmod 0300 "$H/drop"
t_check "drop box: the user may not list it" test -z "$(as_user ls "$H/drop" 2>/dev/null)"
t_check "drop box: rsync -aAX as the user into it runs" t_run 0 "$T/drsync.out" as_user rsync -aAX "$S/" "$H/drop/rsync/"
t_check "drop box: local rcp -p as the user into it: exit 0" t_run 0 "$T/dl.out" as_user "$RCP" -p "$S" "$H/drop/l2l"
t_check "drop box: local:   the same dumps as rsync -aAX into it" same_dump "$H/drop/rsync" "$H/drop/l2l"
t_check "drop box: l2h rcp -p as the user into it: exit 0" t_run 0 "$T/dh.out" UR -p "$S" "$DH:$H/drop/l2h"
t_check "drop box: l2h:   the same dumps as rsync -aAX into it" same_dump "$H/drop/rsync" "$H/drop/l2h"
t_check "drop box: l2h:   no error" test "$(grep -c '^error' "$T/dh.out")" = 0

# --- a root source agent, the user's destination agent ---------------------------------
# Root's client logs in to the source as root and to the destination as the
# user (whose authorized_keys holds the same key): the source reads trusted.*
# and security.capability and sends them; the destination sets user.* and
# the ACLs and says once what it cannot set.
t_check "root source, user destination: exit 0" t_run 0 "$T/mix.out" \
    timeout -k 5 120 "$XRCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$XRCPD" -p "$SH:$S" "$U@$DH:$H/mix"
t_check "  the same dumps as rsync -aAX by the user" same_dump "$H/rsync" "$H/mix"
t_check "  owned by the user" test -z "$(find "$H/mix" ! -user "$U")"
t_check "  one notice, from the destination agent" test "$(notices "$T/mix.out")" = 1
t_check "  which names the attribute" t_grep "\[destination\] .*not running as root: .*'(security.capability|trusted.t)'" "$T/mix.out"
t_check "  no error" test "$(grep -c '^error' "$T/mix.out")" = 0

# A file beside the root with a capability is not copied: the source agent
# has nothing to say of it.
echo beside >"$S/f-cap-beside" && setcap cap_net_raw+ep "$S/f-cap-beside"
t_check "h2h of a directory whose sibling has a capability: exit 0" t_run 0 "$T/sib.out" UR -p "$SH:$S/d" "$DH:$H/sib"
t_check "  the same dumps as rsync -aAX by the user" same_dump "$H/rsync/d" "$H/sib"
t_check "  no notice: nothing copied is left out" test "$(notices "$T/sib.out")" = 0

t_check "nothing of the test's rcp and rcpd left" test -z "$(ours)"
sshd_stop
sshd_account_remove
t_check "the account is removed" test -z "$(getent passwd "$U")"
t_check "  and its group" test -z "$(getent group "$U")"
t_done
