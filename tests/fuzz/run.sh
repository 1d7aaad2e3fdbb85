#!/bin/sh
# run.sh: runs every fuzz target (built with driver.c, no libFuzzer) over
# its checked-in corpus, tests/fuzz/corpus/NAME/; part of `make check`.
# A crash, a leak or a sanitizer report in any of them fails the test.
set -u
B=${RCP_BUILDDIR:-.}/tests/fuzz
S=${RCP_SRCDIR:-.}/tests/fuzz/corpus
fail=0
for d in "$S"/*/; do
	name=$(basename "$d")
	if [ ! -x "$B/fuzz-$name" ]; then
		echo "FAIL: $B/fuzz-$name not built"
		fail=1
		continue
	fi
	if "$B/fuzz-$name" "$d"; then
		echo "ok fuzz-$name"
	else
		echo "FAIL: fuzz-$name"
		fail=1
	fi
done
exit $fail
