# lib.sh: shared set-up for the end-to-end tests (sourced, bash).
# Each test gets a fresh work directory on /dev/shm (file creation on this
# machine's /tmp is slow after mass deletes), removed on exit with every
# process the test started.
set -u

RCP_SRCDIR=${RCP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
RCP_BUILDDIR=${RCP_BUILDDIR:-$RCP_SRCDIR/build}
RCP=$RCP_BUILDDIR/rcp
RCMP=$RCP_BUILDDIR/rcmp
FILEGEN=$RCP_BUILDDIR/filegen

if [ -w /dev/shm ]; then T_BASE=/dev/shm; else T_BASE=${TMPDIR:-/tmp}; fi
T=$(mktemp -d "$T_BASE/rcp-e2e-$(basename "$0" .sh)-XXXXXX")
T_PIDS=()
T_FAILS=0
T_PASSES=0
T_FAILED=()

t_cleanup() {
	local p
	for p in "${T_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	chmod -R u+rwx "$T" 2>/dev/null
	rm -rf "$T"
}
trap t_cleanup EXIT

# t_track PID: kill PID at exit if it is still running.
t_track() { T_PIDS+=("$1"); }
# t_descends PID ANCESTOR: true if ANCESTOR is PID's parent, or its
# parent's... (tests running at once share binaries: this tells theirs).
t_descends() {
	local q=$1
	while [ -n "$q" ] && [ "$q" -gt 1 ]; do
		q=$(ps -o ppid= -p "$q" 2>/dev/null | tr -d ' ')
		[ "$q" = "$2" ] && return 0
	done
	return 1
}

# t_offspring PID: PID's children, their children...
t_offspring() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		t_offspring "$c"
	done
}
# t_netns_del NS...: ends whatever still runs in each network namespace
# of the test's own (only its processes can be there), then removes it.
t_netns_del() {
	local ns pids i
	for ns in "$@"; do
		pids=$(ip netns pids "$ns" 2>/dev/null)
		[ -n "$pids" ] && kill -9 $pids 2>/dev/null
		for i in $(seq 50); do
			[ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
			sleep 0.1
		done
		ip netns del "$ns" 2>/dev/null
	done
}

t_pass() { T_PASSES=$((T_PASSES + 1)); echo "ok - $*"; }
t_fail() { T_FAILS=$((T_FAILS + 1)); T_FAILED+=("$*"); echo "FAIL - $*"; }

# t_check DESC CMD...: passes if CMD succeeds.
t_check() {
	local desc=$1; shift
	if "$@"; then t_pass "$desc"; else t_fail "$desc"; fi
}

# t_run EXPECTED_RC OUTFILE CMD...: runs CMD with stdout+stderr to OUTFILE;
# returns 0 if its exit code is EXPECTED_RC.
t_run() {
	local want=$1 out=$2 rc; shift 2
	"$@" >"$out" 2>&1
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "  '$*' exited $rc, expected $want; output:" >&2
		sed 's/^/  | /' "$out" | head -20 >&2
		return 1
	fi
	return 0
}

# t_grep PATTERN FILE: passes if FILE has a line matching PATTERN (grep -E).
t_grep() {
	if grep -Eq -- "$1" "$2"; then return 0; fi
	echo "  no line matching '$1' in $2:" >&2
	sed 's/^/  | /' "$2" | head -20 >&2
	return 1
}

# json_has FILE KEY=VALUE...: a JSON-lines record (rcmp --json) has every KEY with VALUE (compared
# as text; "path_bytes" matches the name's raw bytes, given as \x escapes).
json_has() {
	python3 -c '
import base64, json, sys
want = dict(a.split("=", 1) for a in sys.argv[2:])
def raw(o):
    if "path_b64" in o:
        return base64.b64decode(o["path_b64"])
    return o["path"].encode()
def match(o):
    for k, v in want.items():
        if k == "path_bytes":
            if raw(o) != v.encode().decode("unicode_escape").encode("latin-1"):
                return False
        elif k not in o or str(o[k]) != v:
            return False
    return True
recs = [json.loads(l) for l in open(sys.argv[1], "rb")]
if not any(match(o) for o in recs):
    sys.stderr.write("  no record with %s in:\n" % want)
    for o in recs:
        sys.stderr.write("  | %s\n" % json.dumps(o))
    sys.exit(1)
' "$@"
}

# t_tree_listing DIR: one line per entry, sorted, with type, mode, owner,
# size (regular files only, "-" for the rest: a directory's size is the file
# system's business) and symlink target, independent of our tools.  No
# times (rcp keeps none by default) and no content hash (one per file is
# slow on 100,000 entries): callers add what they need, and
# t_tree_listing_full has both.
t_tree_listing() {
	(cd "$1" && find . -mindepth 1 \( -type f -printf '%p\t%y\t%m\t%U:%G\t%s\t%l\n' \) -o \( ! -type f -printf '%p\t%y\t%m\t%U:%G\t-\t%l\n' \) | LC_ALL=C sort) || return 1
}

# t_tree_listing_full DIR: also every mtime (ns) and the content hash of
# each regular file.
t_tree_listing_full() {
	(cd "$1" && find . -mindepth 1 \( -type f -printf '%p\t%y\t%m\t%U:%G\t%s\t%T@\t' -exec sh -c 'md5sum < "$1" | cut -c1-32' _ {} \; \) -o \( ! -type f -printf '%p\t%y\t%m\t%U:%G\t%l\t%T@\n' \) | LC_ALL=C sort) || return 1
}

t_done() {
	local f
	for f in "${T_FAILED[@]}"; do echo "failed: $f"; done
	echo "$T_PASSES passed, $T_FAILS failed"
	[ "$T_FAILS" -eq 0 ] && [ "$T_PASSES" -gt 0 ]
	exit $?
}

# looks_complete_but_differs SRC DST: the files of DST with their source's
# size and mtime whose bytes differ (each also named on stderr): an
# interrupted copy must leave none.
looks_complete_but_differs() {
	(cd "$2" && find . -type f -printf '%P\n') | while IFS= read -r f; do
		if [ "$(stat -c '%s %y' "$1/$f")" = "$(stat -c '%s %y' "$2/$f")" ] &&
		    ! cmp -s "$1/$f" "$2/$f"; then
			echo "  looks complete but differs: $f" >&2
			echo "$f"
		fi
	done
}
