# Sourced by the before/after benchmarks after local-broker.sh: builds the release binaries of commit
# $other in a worktree with a target directory of its own, sets $other_bin, and removes the worktree
# when the script exits (stopping the broker too).
worktree="$(mktemp -d)"
git worktree add -q --detach "$worktree" "$other"
trap 'stop_broker; git worktree remove --force "$worktree"' EXIT
other_target="${OTHER_TARGET:-${CARGO_TARGET_DIR:-$PWD/target}-other}"
(cd "$worktree" && CARGO_TARGET_DIR="$other_target" cargo build --release --quiet)
other_bin="$other_target/release"
