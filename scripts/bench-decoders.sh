#!/usr/bin/env bash
# JSON decoders per event on each layout of the events topic (BENCHMARKS.md, "Catch-up on the seed's
# layout"): serde_json, sonic-rs, simd-json and the job's fast path, in one run of scripts/decoders
# (a crate apart from the workspace, built in its own directory under the target directory).
# Usage: scripts/bench-decoders.sh
set -euo pipefail
cd "$(dirname "$0")/decoders"
target="${CARGO_TARGET_DIR:-$PWD/../../target}/decoders"
CARGO_TARGET_DIR="$target" cargo build --release --quiet
"$target/release/adstream-decoders-bench"
