# Shared environment for the project's scripts (sourced, not run).
# Builds go to a cache directory outside the checkout so fresh clones (CI) reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mh-train/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
