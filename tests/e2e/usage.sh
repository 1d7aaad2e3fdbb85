#!/bin/bash
# usage.sh: every program of the suite reports a bad command line the same
# way: "PROG: problem" on stderr, then "Try 'PROG --help' for more
# information.", and exit 2 (rcp, rcpd, rcmp, filegen, rcp-master, rcpctl).
. "$(dirname "$0")/lib.sh"

RCPD=$RCP_BUILDDIR/rcpd
RCP_MASTER=$RCP_BUILDDIR/rcp-master
RCPCTL=$RCP_BUILDDIR/rcpctl

# bad DESC PROG PATTERN CMD...: CMD exits 2, its first line matches
# "^PROG: PATTERN$", its second is the pointer at PROG's --help, no more.
bad() {
	local desc=$1 prog=$2 pat=$3 out; shift 3
	out=$T/out.$((++n))
	t_check "$prog, $desc: exit 2" t_run 2 "$out" "$@"
	t_check "$prog, $desc: says so" \
	    test "$(sed -n 1p "$out" | grep -cE "^$prog: $pat\$")" = 1
	t_check "$prog, $desc: points at --help" test "$(sed -n 2p "$out")" = \
	    "Try '$prog --help' for more information."
	t_check "$prog, $desc: two lines" test "$(wc -l <"$out")" = 2
}
n=0

for p in rcp:"$RCP" rcpd:"$RCPD" rcmp:"$RCMP" filegen:"$FILEGEN" \
    rcp-master:"$RCP_MASTER" rcpctl:"$RCPCTL"; do
	name=${p%%:*} bin=${p#*:}
	bad "unknown long option" "$name" "unknown option '--bogus'" \
	    "$bin" --bogus
	bad "unknown long option with a value" "$name" \
	    "unknown option '--bogus'" "$bin" --bogus=1
	bad "unknown short option" "$name" "unknown option '-Z'" "$bin" -Z
done
bad "unknown short option in a cluster" rcmp "unknown option '-Z'" \
    "$RCMP" -qZ a b

# A missing argument: an option that needs a value, given none.
bad "missing value" rcp "option '--overwrite-compare' needs a value" \
    "$RCP" --overwrite-compare
bad "missing value" rcpd "option '--role' needs a value" "$RCPD" --role
bad "missing value" rcmp "option '--threads' needs a value" "$RCMP" --threads
bad "missing value" filegen "option '--seed' needs a value" "$FILEGEN" --seed
bad "missing short value" filegen "option '-s' needs a value" "$FILEGEN" -s
bad "missing value" rcp-master "option '--workers' needs a value" \
    "$RCP_MASTER" --workers
bad "missing value" rcpctl "option '--socket' needs a value" \
    "$RCPCTL" --socket
bad "missing value, submit" rcpctl "option '--priority' needs a value" \
    "$RCPCTL" submit a b --priority
bad "no value taken" rcpctl "option '--help' takes no value" \
    "$RCPCTL" --help=x

# A bad value.
bad "bad value" rcp ".*overwrite-compare.*" "$RCP" --overwrite-compare=x a b
bad "bad value" rcpd "unknown role 'sideways'" "$RCPD" --role=sideways
bad "bad value" rcpd ".*--quic-idle-timeout-sec.*" "$RCPD" \
    --role=source --quic-idle-timeout-sec=never
bad "bad value" rcp "--stall-timeout: '2x' is not 0 or a duration .*" \
    "$RCP" --stall-timeout 2x a b
bad "bad value, under its other name" rcp "--stall-timeout: '0.5s' .*" \
    "$RCP" --stall-timeout-sec 0.5s a b
bad "bad value, submit" rcpctl "--stall-timeout: '40d' .*" \
    "$RCPCTL" submit --stall-timeout 40d a b
bad "bad value" rcmp ".*threads.*" "$RCMP" --threads=many a b
bad "bad value" filegen "bad thread count '0'.*" "$FILEGEN" -t 0 d 1 1 1
bad "bad value" rcp-master ".*'lots'.*" "$RCP_MASTER" --workers=lots
bad "bad value, submit" rcpctl ".*priority.*" "$RCPCTL" submit \
    --priority=high a b
t_done
