#!/bin/bash
# fuzz.sh: `make fuzz`.  Runs each libFuzzer target (built by clang with
# -fsanitize=fuzzer,address,undefined in BUILD) for FUZZ_SECONDS, starting
# from the checked-in seeds.  New corpus entries go to OUT/corpus/NAME (a
# scratch dir: the checked-in corpus is never written), crashes, leaks and
# timeouts to OUT/crashes/NAME/.  FUZZ_JOBS targets run at once.
#   fuzz.sh SRCDIR BUILD OUT [NAME...]
set -u
# Absolute: a target may chdir (fuzz-srcserve works in a scratch tree).
SRC=$(cd "$1" && pwd) BUILD=$(cd "$2" && pwd)
mkdir -p "$3" && OUT=$(cd "$3" && pwd)
shift 3
SECONDS_EACH=${FUZZ_SECONDS:-60}
JOBS=${FUZZ_JOBS:-1}
[ $# -gt 0 ] || set -- $(cd "$SRC/tests/fuzz/corpus" && ls)

one() {
	name=$1
	mkdir -p "$OUT/corpus/$name" "$OUT/crashes/$name"
	touch "$OUT/$name.start"
	"$BUILD/tests/fuzz/fuzz-$name" -max_total_time="$SECONDS_EACH" \
	    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
	    -artifact_prefix="$OUT/crashes/$name/" \
	    "$OUT/corpus/$name" "$SRC/tests/fuzz/corpus/$name" \
	    >"$OUT/$name.log" 2>&1
	rc=$?
	stats=$(grep -E '^#[0-9]+.*(DONE|cov:)' "$OUT/$name.log" | tail -n 1)
	# Only this run's: older findings stay, but are not counted again.
	n=$(find "$OUT/crashes/$name" -type f -newer "$OUT/$name.start" | wc -l)
	echo "fuzz-$name: exit $rc, $n new artifacts; $stats"
	[ "$rc" -eq 0 ] && [ "$n" -eq 0 ]
}

fail=0 running=0
for name in "$@"; do
	one "$name" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n 2>/dev/null || wait
		running=$((running - 1))
	fi
done
wait
for name in "$@"; do
	[ -z "$(find "$OUT/crashes/$name" -type f -newer "$OUT/$name.start")" ] ||
	    fail=1
	grep -q 'ERROR: libFuzzer\|SUMMARY:' "$OUT/$name.log" && fail=1
done
[ "$fail" -eq 0 ] || echo "fuzz: findings in $OUT/crashes (logs: $OUT/*.log)"
exit $fail
