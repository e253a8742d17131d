#!/usr/bin/env bash
# Image store benchmarks (issue 4), run from the repository root:
#   - import of a 4-layer, ~400 MiB image vs GNU tar -x of the same layers
#     in the same run (uncompressed and gzip layers; both timed to durable
#     data; on the temp dir's disk and, as root, on a tmpfs, which leaves
#     out the disk and the dirty data of other processes that a sync also
#     flushes); target: ratio <= 1.5
#   - disk used by 10 images sharing one 50 MiB base layer
#   - Open + Resolve + MountPlan, what the activation shim does per start
# Usage: bench/import.sh [COUNT]   (COUNT runs of each, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-3}
go test -run '^$' -bench 'ImportVsTar|SharedBase' -benchtime 1x -count "$count" -timeout 60m ./rootfs/archive/
go test -run '^$' -bench 'MountPlan' -benchmem -count "$count" ./rootfs/
