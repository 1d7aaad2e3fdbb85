#!/bin/bash
# layers.sh: the layer check (build-aux/check-layers, doc/architecture.md)
# passes on the tree and fails on each kind of violation planted in a copy.
. "$(dirname "$0")/lib.sh"

CHECK=$RCP_SRCDIR/build-aux/check-layers

t_check "the tree keeps its layers, by includes and by symbols" \
    t_run 0 "$T/out" python3 "$CHECK" "$RCP_SRCDIR" "$RCP_BUILDDIR"

# plant FILE SED: a copy of src/, ctl/ and the doc with FILE edited.
plant() {
	rm -rf "$T/tree" && mkdir -p "$T/tree/doc"
	cp -r "$RCP_SRCDIR/src" "$RCP_SRCDIR/ctl" "$T/tree/"
	cp "$RCP_SRCDIR/doc/architecture.md" "$T/tree/doc/"
	sed -i "$2" "$T/tree/$1"
}

plant src/base/util.c 's|^#include "base/util.h"|&\n#include "net/quic.h"|'
t_check "an include that runs up a layer fails" \
    t_run 1 "$T/out" python3 "$CHECK" "$T/tree"
t_check "  and names the file, the line and the layers" \
    t_grep "src/base/util.c:[0-9]+: #include \"net/quic.h\" runs up from 'base' to 'net'" "$T/out"

plant src/engine/copy.c 's|^#include "engine/copy.h"|&\n#include "workers/job.h"|'
t_check "an include of the engine from the workers above it fails" \
    t_run 1 "$T/out" python3 "$CHECK" "$T/tree"

plant src/net/wire.h 's|^#include "base/strbuf.h"|&\n#include "net/quic.h"|'
t_check "a cycle within a layer fails" \
    t_run 1 "$T/out" python3 "$CHECK" "$T/tree"
t_check "  and shows the cycle" t_grep "a cycle: .*net/quic.*net/wire" "$T/out"

plant src/fs/meta.c 's|^#include "fs/meta.h"|#include "meta.h"|'
t_check "an include without its folder fails" \
    t_run 1 "$T/out" python3 "$CHECK" "$T/tree"

t_done
