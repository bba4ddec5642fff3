# A light Python environment for the tests that check our files with public Python readers
# (sourced, not run; needs scripts/env.sh first for MH_CACHE_DIR).
#
# `mh_py_env` installs PyPI's `gguf` (llama.cpp's own GGUF reader, gguf-py, with numpy) into
# $MH_CACHE_DIR/py-gguf — a venv, or a plain `pip --target` directory when this Python has no
# venv module — and exports MH_GGUF_PYTHON, the interpreter mh-gguf's tests run. Those tests
# fail (they do not skip) when MH_GGUF_PYTHON is unset or cannot import gguf. Created once;
# later runs only check it. Pinned to the version the fixtures were checked with.
MH_GGUF_PY_VERSION="${MH_GGUF_PY_VERSION:-0.19.0}"

mh_py_env() {
    local venv="$MH_CACHE_DIR/py-gguf"
    local target="$MH_CACHE_DIR/py-gguf-lib"
    command -v python3 >/dev/null || {
        echo "python3 not found: mh-gguf's tests read our GGUF files with llama.cpp's Python gguf package" >&2
        return 1
    }
    if "$venv/bin/python" -c "import gguf, numpy" >/dev/null 2>&1; then
        export MH_GGUF_PYTHON="$venv/bin/python"
        return 0
    fi
    if PYTHONPATH="$target" python3 -c "import gguf, numpy" >/dev/null 2>&1; then
        export MH_GGUF_PYTHON="$(command -v python3)" PYTHONPATH="$target${PYTHONPATH:+:$PYTHONPATH}"
        return 0
    fi
    echo "installing PyPI gguf==$MH_GGUF_PY_VERSION into $MH_CACHE_DIR" >&2
    rm -rf "$venv"
    if python3 -m venv "$venv" >/dev/null 2>&1 &&
        "$venv/bin/pip" install --quiet --disable-pip-version-check "gguf==$MH_GGUF_PY_VERSION"; then
        export MH_GGUF_PYTHON="$venv/bin/python"
    else
        rm -rf "$venv"
        python3 -m pip install --quiet --disable-pip-version-check --target "$target" \
            "gguf==$MH_GGUF_PY_VERSION" || {
            echo "cannot install gguf==$MH_GGUF_PY_VERSION from PyPI (needed by mh-gguf's tests)" >&2
            return 1
        }
        export MH_GGUF_PYTHON="$(command -v python3)" PYTHONPATH="$target${PYTHONPATH:+:$PYTHONPATH}"
    fi
    "$MH_GGUF_PYTHON" -c "import gguf, numpy" || {
        echo "$MH_GGUF_PYTHON cannot import gguf after installing it" >&2
        return 1
    }
}
