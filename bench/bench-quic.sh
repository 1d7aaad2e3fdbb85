#!/bin/bash
# bench-quic.sh: QUIC against TCP+TLS 1.3 between two processes on loopback,
# the same framing and bytes, side by side (make bench-quic).  Reports the
# median MB/s and CPU seconds per GiB on each side, and the ratio to TCP+TLS
# (targets: QUIC at least 0.6x of TCP+TLS and 500 MB/s).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -euo pipefail

BUILD=${RCP_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
QB=$BUILD/bench/quic-bench
REPS=${BENCH_REPS:-5}
SIZE=${BENCH_QUIC_SIZE:-2G}
OUT=${BENCH_OUT_QUIC:-$BUILD/bench-results-quic.md}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for i in $(seq "$REPS"); do
	# Alternate which goes first, to spread the noise.
	if [ $((i % 2)) -eq 1 ]; then order="quic tls"; else order="tls quic"; fi
	for t in $order; do
		"$QB" "$t" "$SIZE" >>"$TMP/$t"
		tail -1 "$TMP/$t"
	done
done
RCP_BENCH_PROFILE=internet "$QB" quic "$SIZE" >"$TMP/internet"
echo "internet profile: $(cat "$TMP/internet")"

{
	echo "# QUIC vs TCP+TLS 1.3 on loopback, $SIZE, medians of $REPS"
	echo
	echo "| transport | MB/s | receiver CPU s/GiB | sender CPU s/GiB |"
	echo "|---|--:|--:|--:|"
	for t in quic tls; do
		printf '| %s | %s | %s | %s |\n' "$t" \
		    "$(field MBps <"$TMP/$t" | median)" \
		    "$(field recv_cpu_s_per_gib <"$TMP/$t" | median)" \
		    "$(field send_cpu_s_per_gib <"$TMP/$t" | median)"
	done
	printf '| quic (internet profile, 1452-byte packets, 1 run) | %s | %s | %s |\n' \
	    "$(field MBps <"$TMP/internet")" \
	    "$(field recv_cpu_s_per_gib <"$TMP/internet")" \
	    "$(field send_cpu_s_per_gib <"$TMP/internet")"
	q=$(field MBps <"$TMP/quic" | median)
	l=$(field MBps <"$TMP/tls" | median)
	echo
	echo "QUIC / TCP+TLS = $(echo "scale=2; $q / $l" | bc)x (target >= 0.6x);" \
	    "QUIC median $q MB/s (target >= 500)"
	echo "QUIC packets: $(field pkt <"$TMP/quic" | head -1) bytes," \
	    "GSO $(field gso <"$TMP/quic" | head -1)," \
	    "receive buffer $(field rcvbuf_kib <"$TMP/quic" | head -1) KiB"
} | tee "$OUT"
