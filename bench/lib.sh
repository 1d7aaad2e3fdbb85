# bench/lib.sh -- helpers shared by the bench-*.sh scripts.
# The sourcing script sets BENCH_NAME (its name in messages) and SHM (the
# tmpfs its data lives on); it defines tool_label TOOL and keeps its timings
# in the associative array TIMES[DATASET,TOOL] ("t1 t2 ...") and the tools it
# runs in TOOLS.

die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
note() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }

now() { printf '%s' "$EPOCHREALTIME"; }

# bench_account NAME: the account NAME, made if missing (a fresh home from
# /etc/skel), that logs in to the harness's sshd (tests/e2e/sshd-lib.sh)
# with its key: ~/.ssh/authorized_keys holds $SSH_KEY.pub (sshd-lib's sshd
# reads it as the user; the harness's own key file is root's alone).  Sets
# BENCH_HOME to its home.
bench_account() {
    id "$1" >/dev/null 2>&1 || useradd -m -s /bin/bash "$1" ||
        die "cannot make the account $1"
    # A new account is locked ('!'), and sshd without PAM refuses locked
    # accounts even for keys: '*' is "no password", not locked.
    [ "$(getent shadow "$1" | cut -d: -f2)" = '!' ] && usermod -p '*' "$1"
    BENCH_HOME=$(getent passwd "$1" | cut -d: -f6)
    install -d -m 700 -o "$1" "$BENCH_HOME/.ssh"
    install -m 600 -o "$1" "$SSH_KEY.pub" "$BENCH_HOME/.ssh/authorized_keys"
}
avail_bytes() { df -B1 --output=avail "$SHM" | tail -n 1 | tr -d ' '; }
gib() { awk -v b="$1" 'BEGIN { printf "%.2f GiB", b / 1073741824 }'; }

# need BYTES WHAT: die unless tmpfs has BYTES free plus 512 MiB of margin.
need() {
    local want=$(( $1 + 536870912 )) have
    have=$(avail_bytes)
    [ "$have" -ge "$want" ] ||
        die "$SHM has $(gib "$have") free, $2 needs $(gib "$want")"
}

# median, minof, maxof: of the numbers on stdin (space or newline separated).
median() { tr ' ' '\n' | grep . | sort -g | awk '
    { v[NR] = $1 }
    END { if (NR == 0) { print "nan"; exit }
          if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR/2] + v[NR/2 + 1]) / 2 }'; }
minof() { tr ' ' '\n' | grep . | sort -g | head -n 1; }
maxof() { tr ' ' '\n' | grep . | sort -g | tail -n 1; }

has_tool() { case " $TOOLS " in *" $1 "*) return 0 ;; esac; return 1; }
med() { printf '%s' "${TIMES[$1,$2]}" | median; }
# speedup DS TOOL BASE: median(BASE) / median(TOOL), e.g. 2.00 = twice as fast.
speedup() {
    awk -v a="$(med "$1" "$3")" -v b="$(med "$1" "$2")" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'
}
# speedup_min DS TOOL BASE: the same with the fastest run of each.
speedup_min() {
    awk -v a="$(printf '%s' "${TIMES[$1,$3]}" | minof)" -v b="$(printf '%s' "${TIMES[$1,$2]}" | minof)" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'
}

# md_table ALIGN: reads TAB-separated rows (the first is the header) and
# prints a padded markdown table; ALIGN is a string of l/r, one per column.
md_table() {
    awk -F'\t' -v align="$1" '
        { n = NR; if (NF > nf) nf = NF
          for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        function row(r,   i, s) {
            s = "|"
            for (i = 1; i <= nf; i++)
                s = s " " sprintf(substr(align, i, 1) == "r" ? "%" w[i] "s" : "%-" w[i] "s", c[r, i]) " |"
            print s }
        END {
            for (i = 1; i <= nf; i++) if (w[i] < 3) w[i] = 3
            row(1); s = "|"
            for (i = 1; i <= nf; i++) {
                d = ""; for (j = 0; j < w[i]; j++) d = d "-"
                if (substr(align, i, 1) == "r") d = substr(d, 2) ":"
                s = s " " d " |" }
            print s
            for (r = 2; r <= n; r++) row(r) }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
yn() { if "$@"; then echo "**MET**"; else echo "**NOT MET**"; fi; }
# The label in a markdown cell: a bare '|' would end the cell.
md_label() { tool_label "$1" | sed 's/|/\\|/g'; }

# raw_times_table: the "Raw times" section of a report, every time of
# TIMES[DATASET,TOOL] for $DATASETS and the tools in TOOL_LIST.
raw_times_table() {
    echo "## Raw times (s, in run order per tool)"
    echo
    {
        printf 'dataset\ttool\ttimes s\n'
        for ds in $DATASETS; do
            for tool in "${TOOL_LIST[@]}"; do
                printf '%s\t%s\t%s\n' "$ds" "$(md_label "$tool")" \
                    "$(printf '%s' "${TIMES[$ds,$tool]}" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.3f", (i > 1 ? " " : ""), $i }')"
            done
        done
    } | md_table lll
}
