# suite-lib.sh: fixtures shared by the tests of rrm, rchm and rlink
# (sourced after lib.sh): an awkward tree and an unprivileged user.
RRM=$RCP_BUILDDIR/rrm
RCHM=$RCP_BUILDDIR/rchm
RLINK=$RCP_BUILDDIR/rlink

# The user without privileges copy-errors.sh uses, made once.
SUITE_USER=rcptest
suite_user() {
	if ! id "$SUITE_USER" >/dev/null 2>&1; then
		useradd -M -s /usr/sbin/nologin "$SUITE_USER" 2>/dev/null ||
		    id "$SUITE_USER" >/dev/null 2>&1 ||
		    { echo "cannot create user $SUITE_USER" >&2; exit 1; }
	fi
	chmod 755 "$T"
}
as_user() { setpriv --reuid "$SUITE_USER" --regid "$SUITE_USER" --clear-groups "$@"; }

# suite_fixture DIR: odd and non-UTF-8 names, a chain deeper than PATH_MAX,
# read-only and empty directories, symlinks (one to a directory outside,
# one dangling), a FIFO, hard links, setgid and sticky directories.
suite_fixture() {
	local F=$1 n i
	mkdir -p "$F/dir/sub" "$F/empty/nested" "$F/names"
	for i in 1 2 3; do printf 'f%s\n' "$i" >"$F/dir/f$i"; done
	printf 'deep\n' >"$F/dir/sub/g"
	for n in $'\xff\xfe' $'new\nline' '-leading' 'with space' 'back\slash' \
	    ' ' '*' $'tab\there' 'é' '..dots'; do
		printf '%s\n' "$n" >"$F/names/$n"
	done
	mkdir "$F/names/"$'dir\xff'
	printf x >"$F/names/"$'dir\xff/'$'in\nner'
	ln -s $'new\nline' "$F/names/"$'link\xfe'
	ln -s /nonexistent/target "$F/dangling"
	ln -s ../ "$F/dir/up"
	ln "$F/dir/f1" "$F/dir/f1-hard"
	mkfifo "$F/fifo"
	mkdir "$F/ro" && printf r >"$F/ro/in" && chmod 555 "$F/ro"
	mkdir "$F/sgid" && chmod 2775 "$F/sgid" && printf s >"$F/sgid/in"
	mkdir "$F/sticky" && chmod 1777 "$F/sticky"
	chmod 640 "$F/dir/f2"
	chmod 4755 "$F/dir/f3"
	n=$(printf 'n%.0s' {1..100})
	mkdir "$F/deep"
	(
		cd "$F/deep" || exit 1
		for ((i = 0; i < 45; i++)); do mkdir "$n$i" && cd "$n$i" || exit 1; done
		printf 'bottom\n' >file
		ln -s file link
	)
}

# suite_deep_ok DIR: DIR's deepest path is longer than PATH_MAX.
suite_deep_ok() {
	test "$(find "$1" | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -gt 4096
}
