#!/usr/bin/env python3
"""The hub cache layout Python's huggingface_hub writes, as a fixture for mh-hub's tests.

1. Starts mh-testkit's loopback hub serving `sample_sharded_repo("mh-test/sharded")`
   (`cargo run -p mh-testkit --example fake_hub`), the same repository the Rust test serves.
2. Points huggingface_hub at it (HF_ENDPOINT, a scratch HF_HOME) and downloads, with
   `hf_hub_download`, exactly the files mh-hub fetches for that repository: the required and
   present optional files, the safetensors index and every shard it names.
3. Writes the repository folder's tree (directories, refs with their content, blobs with their
   size, snapshot symlinks with their targets) to
   crates/mh-hub/tests/fixtures/python-cache-layout.json.
4. Checks the other direction: mh-hub (`cargo run -p mh-hub --example resolve`) downloads into a
   second scratch HF_HOME, then huggingface_hub, offline, must find every file there at the
   path mh-hub returned.

The layout comes from huggingface_hub, never from our code. Needs huggingface_hub
(pip install huggingface_hub). CI does not run this; it compares against the committed fixture.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates", "mh-hub", "tests", "fixtures", "python-cache-layout.json")
REPO = "mh-test/sharded"
# mh-hub's choice for this repository (see crates/mh-hub/src/cache.rs): required files, the
# optional ones the repository has, then the weights.
FIRST = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json",
         "model.safetensors.index.json"]


def layout(root):
    """Same lines as `layout()` in crates/mh-hub/tests/resolve.rs."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            if os.path.islink(path):
                out.append(f"link {rel} -> {os.readlink(path)}")
            elif os.path.isdir(path):
                out.append(f"dir {rel}")
            elif rel.startswith("refs/"):
                with open(path) as f:
                    out.append(f"file {rel} = {f.read()}")
            else:
                out.append(f"file {rel} {os.path.getsize(path)}")
    return sorted(out)


def check_python_reads_mh_hub_cache(endpoint, files):
    from huggingface_hub import hf_hub_download

    with tempfile.TemporaryDirectory() as home:
        env = dict(os.environ, HF_HOME=home, HF_ENDPOINT=endpoint)
        env.pop("HF_HUB_CACHE", None)
        out = subprocess.run(
            ["cargo", "run", "-q", "-p", "mh-hub", "--example", "resolve", "--", REPO],
            cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
        resolved = json.loads(out)
        if resolved["files"] != files:
            sys.exit(f"mh-hub fetched {resolved['files']}, Python {files}")
        for name in files:
            path = hf_hub_download(REPO, name, cache_dir=os.path.join(home, "hub"),
                                   local_files_only=True)
            if path != os.path.join(resolved["dir"], name):
                sys.exit(f"Python finds {name} at {path}, mh-hub put it in {resolved['dir']}")
    print(f"huggingface_hub reads mh-hub's cache: {len(files)} files found offline")


def main():
    server = subprocess.Popen(
        ["cargo", "run", "-q", "-p", "mh-testkit", "--example", "fake_hub", "--", REPO],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        endpoint = server.stdout.readline().strip()
        if not endpoint.startswith("http://"):
            sys.exit(f"the fake hub did not start (got {endpoint!r})")
        with tempfile.TemporaryDirectory() as home:
            os.environ.update(HF_HOME=home, HF_ENDPOINT=endpoint, HF_HUB_DISABLE_TELEMETRY="1",
                              HF_HUB_DISABLE_XET="1")
            os.environ.pop("HF_TOKEN", None)
            os.environ.pop("HF_HUB_OFFLINE", None)
            import huggingface_hub
            from huggingface_hub import hf_hub_download

            files = list(FIRST)
            for name in FIRST:
                hf_hub_download(REPO, name)
            index_path = hf_hub_download(REPO, "model.safetensors.index.json")
            with open(index_path) as f:
                shards = sorted(set(json.load(f)["weight_map"].values()))
            for shard in shards:
                hf_hub_download(REPO, shard)
            files += shards
            repo_root = os.path.join(home, "hub", "models--" + REPO.replace("/", "--"))
            check_python_reads_mh_hub_cache(endpoint, files)
            fixture = {
                "generated_by": "scripts/gen_hf_cache_layout.py",
                "huggingface_hub": huggingface_hub.__version__,
                "repo": REPO,
                "files": files,
                "layout": layout(repo_root),
            }
    finally:
        server.stdin.close()
        server.wait()
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=2)
        f.write("\n")
    print(f"wrote {OUT}: {len(fixture['layout'])} entries")


if __name__ == "__main__":
    main()
