# Shared environment for the project's scripts (sourced, not run).
# Builds go to a cache directory outside the checkout so fresh clones (CI) reuse them.
export MH_CACHE_DIR="${MH_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mh-train}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$MH_CACHE_DIR/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
