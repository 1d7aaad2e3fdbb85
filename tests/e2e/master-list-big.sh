#!/bin/bash
# master-list-big.sh: master-list.sh with 100,000 finished jobs (about 30 s
# here; not in make check).  The master's peak RSS must stay under 256 MiB:
# the job table itself, never the whole list as JSON.
RCP_LIST_JOBS=${RCP_LIST_JOBS:-100000} RCP_LIST_RSS_MB=${RCP_LIST_RSS_MB:-256} \
    exec bash "$(dirname "$0")/master-list.sh"
