"""Shows that Python's huggingface_hub and the workbench share one Hub cache, both ways.

Run by hand with the reference venv (huggingface_hub comes with transformers), from the repository root.

1. Read what the workbench wrote. Fill a fresh HF_HOME with the workbench (against the CI mirror,
   .ci/hub_mirror.py, or the real Hub), then check it offline:

       HF_ENDPOINT=http://127.0.0.1:PORT HF_HOME=/tmp/hf ./workbench model inspect \
           --model hf:karpathy/tinyllamas/stories260K/stories260K.bin
       /work/refvenv/bin/python scripts/reference/check_hub_cache.py read /tmp/hf

   huggingface_hub's scan_cache_dir() must list the repository with no warnings, and hf_hub_download(...,
   local_files_only=True) must return the very files the workbench used, whose sha256 is their blob name.

2. Write a cache the workbench then reads. Python downloads into a fresh HF_HOME from an endpoint:

       /work/refvenv/bin/python scripts/reference/check_hub_cache.py write /tmp/hf-py http://127.0.0.1:PORT
       HF_HUB_OFFLINE=1 HF_HOME=/tmp/hf-py ./workbench model inspect --model hf:karpathy/tinyllamas/stories260K/stories260K.bin

Exits 1 with the reason when anything differs.
"""
import hashlib
import os
import sys

REPO = "karpathy/tinyllamas"
FILES = ["stories260K/stories260K.bin", "stories260K/tok512.bin"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read(hf_home):
    os.environ["HF_HOME"] = hf_home
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may come from the network: only the cache answers
    import huggingface_hub
    from huggingface_hub import hf_hub_download, scan_cache_dir

    print("huggingface_hub", huggingface_hub.__version__, "reading", hf_home)
    info = scan_cache_dir()
    for w in info.warnings:
        sys.exit("scan_cache_dir warning: %s" % w)
    repos = {r.repo_id: r for r in info.repos}
    if REPO not in repos:
        sys.exit("scan_cache_dir does not list %s (it lists %s)" % (REPO, sorted(repos)))
    repo = repos[REPO]
    for rev in sorted(repo.revisions, key=lambda r: r.commit_hash):
        print("revision", rev.commit_hash, "refs", sorted(rev.refs), "files",
              sorted(f.file_name for f in rev.files), "size", rev.size_on_disk)
    for name in FILES:
        path = hf_hub_download(REPO, name, local_files_only=True)
        blob = os.path.realpath(path)
        digest = sha256(path)
        if os.path.basename(blob) != digest:
            sys.exit("%s: blob %s is not named by its sha256 %s" % (name, blob, digest))
        print("hf_hub_download(local_files_only=True)", name, "->", path, "sha256", digest)
    print("ok: huggingface_hub reads the cache the workbench wrote")


def write(hf_home, endpoint):
    os.environ["HF_HOME"] = hf_home
    os.environ["HF_ENDPOINT"] = endpoint
    import huggingface_hub
    from huggingface_hub import hf_hub_download

    print("huggingface_hub", huggingface_hub.__version__, "writing", hf_home, "from", endpoint)
    for name in FILES:
        path = hf_hub_download(REPO, name)
        print("hf_hub_download", name, "->", path, "sha256", sha256(path))
    print("ok: now run the workbench with HF_HUB_OFFLINE=1 HF_HOME=%s" % hf_home)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "read":
        read(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
