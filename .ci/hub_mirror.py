#!/usr/bin/env python3
"""A loopback Hugging Face Hub for CI: serves files from ../shared/data in the Hub's URL layout.

The main recipe names public sources (hf:karpathy/tinyllamas/..., FastChat's conversations on GitHub).
CI must not depend on those hosts, yet must run the real download code; so this mirror answers the
requests the workbench (and Python's huggingface_hub) make, with the same headers as the Hub:

  GET  /api/{models|datasets}/ORG/NAME/revision/REV   {"sha": COMMIT, "siblings": [{"rfilename": ...}]}
  HEAD /[datasets/]ORG/NAME/resolve/REV/PATH          X-Repo-Commit; LFS files (by extension, as the Hub's
                                                      default .gitattributes): 302 to the CDN (a second
                                                      port: another origin, as the Hub's) /cdn/SHA256 with
                                                      X-Linked-Etag (sha256) and X-Linked-Size; other files:
                                                      200 with ETag = git blob sha1 and Content-Length
  GET  the same, /cdn/SHA256, and /raw/HOST/PATH      the bytes, honouring "Range: bytes=N-"

Point the workbench at it with HF_ENDPOINT=http://127.0.0.1:PORT, and https:// sources with
WORKBENCH_URL_MIRROR="https://=http://127.0.0.1:PORT/raw/". Python standard library only.

Usage: hub_mirror.py --data ../shared/data [--port 0] [--port-file FILE]
"""
import argparse
import hashlib
import json
import os
import re
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Repository path -> file under --data. Only what the repository's recipes name; each entry is the public
# file it stands for (see the PROVENANCE.txt beside each file).
MODELS = {
    "karpathy/tinyllamas": {
        "stories260K/stories260K.bin": "models/stories260K/stories260K.bin",
        "stories260K/tok512.bin": "models/stories260K/tok512.bin",
        "stories260K/tok512.model": "models/stories260K/tok512.model",
    },
}
DATASETS = {}
RAW = {
    "raw.githubusercontent.com/lm-sys/FastChat/0e6d3e4beaab66f4d3f93db72541a4abab8af28d/data/dummy_conversation.json":
        "sft/fastchat-dummy-conversation/dummy_conversation.json",
}
LFS_SUFFIXES = (".bin", ".model", ".parquet", ".safetensors", ".gguf", ".pt")

RESOLVE = re.compile(r"^/(datasets/)?([^/]+/[^/]+)/resolve/([^/]+)/(.+)$")
API = re.compile(r"^/api/(models|datasets)/([^/]+/[^/]+)/revision/([^/]+)$")
RANGE = re.compile(r"^bytes=(\d+)-$")


class Mirror:
    def __init__(self, data):
        self.data = data
        self.repos = {("models", r): files for r, files in MODELS.items()}
        self.repos.update({("datasets", r): files for r, files in DATASETS.items()})
        self._sha256 = {}

    def path(self, relative):
        return os.path.join(self.data, relative)

    def sha256(self, relative):
        if relative not in self._sha256:
            h = hashlib.sha256()
            with open(self.path(relative), "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            self._sha256[relative] = h.hexdigest()
        return self._sha256[relative]

    def git_sha1(self, relative):
        with open(self.path(relative), "rb") as f:
            body = f.read()
        return hashlib.sha1(b"blob %d\0" % len(body) + body).hexdigest()

    def commit(self, kind, repo):
        """A stable commit id for a repository: a hash of its listing and contents."""
        h = hashlib.sha1()
        for name, relative in sorted(self.repos[(kind, repo)].items()):
            h.update(name.encode())
            h.update(self.sha256(relative).encode())
        return h.hexdigest()

    def cdn_file(self, sha):
        for files in self.repos.values():
            for relative in files.values():
                if self.sha256(relative) == sha:
                    return relative
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    mirror = None  # set in main()
    cdn_port = None  # set in main()

    def log_message(self, fmt, *args):
        sys.stderr.write("hub_mirror: " + (fmt % args) + "\n")

    def do_HEAD(self):
        self.route(head=True)

    def do_GET(self):
        self.route(head=False)

    def route(self, head):
        m = self.mirror
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path.startswith("/cdn/"):
            return self.send_file(m.cdn_file(path[5:]), head, {})
        if path.startswith("/raw/"):
            return self.send_file(RAW.get(path[5:]), head, {})
        api = API.match(path)
        if api:
            kind, repo = api.group(1), api.group(2)
            if (kind, repo) not in m.repos:
                return self.status(404, {"X-Error-Code": "RepoNotFound"})
            body = json.dumps({"id": repo, "sha": m.commit(kind, repo),
                               "siblings": [{"rfilename": n} for n in sorted(m.repos[(kind, repo)])]}).encode()
            return self.send_bytes(body, head, {"Content-Type": "application/json"})
        r = RESOLVE.match(path)
        if not r:
            return self.status(404, {})
        kind = "datasets" if r.group(1) else "models"
        repo, rev, name = r.group(2), r.group(3), r.group(4)
        if (kind, repo) not in m.repos:
            return self.status(404, {"X-Error-Code": "RepoNotFound"})
        commit = m.commit(kind, repo)
        if rev not in ("main", commit):
            return self.status(404, {"X-Error-Code": "RevisionNotFound"})
        relative = m.repos[(kind, repo)].get(name)
        if relative is None:
            return self.status(404, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": commit})
        if name.endswith(LFS_SUFFIXES):
            sha = m.sha256(relative)
            return self.status(302, {"X-Repo-Commit": commit, "X-Linked-Etag": '"%s"' % sha,
                                     "X-Linked-Size": str(os.path.getsize(m.path(relative))),
                                     "ETag": '"%s"' % m.git_sha1(relative),
                                     "Location": "http://127.0.0.1:%d/cdn/%s" % (self.cdn_port, sha)})
        return self.send_file(relative, head, {"X-Repo-Commit": commit, "ETag": '"%s"' % m.git_sha1(relative)})

    def status(self, code, headers):
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send_file(self, relative, head, headers):
        if relative is None:
            return self.status(404, {})
        with open(self.mirror.path(relative), "rb") as f:
            self.send_bytes(f.read(), head, headers)

    def send_bytes(self, body, head, headers):
        start, code = 0, 200
        rng = RANGE.match(self.headers.get("Range", ""))
        if rng:
            start = int(rng.group(1))
            if start >= len(body):
                return self.status(416, {"Content-Range": "bytes */%d" % len(body)})
            code = 206
            headers = dict(headers, **{"Content-Range": "bytes %d-%d/%d" % (start, len(body) - 1, len(body))})
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        if not head:
            self.wfile.write(body[start:])


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="the shared data folder (../shared/data)")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the port here once listening")
    a = p.parse_args()
    mirror = Mirror(os.path.abspath(a.data))
    for files in mirror.repos.values():
        for relative in files.values():
            if not os.path.isfile(mirror.path(relative)):
                sys.exit("hub_mirror: %s is missing" % mirror.path(relative))
    Handler.mirror = mirror
    # huggingface_hub follows a HEAD's redirect on the same origin: the CDN must be another one, as on the Hub.
    cdn = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    Handler.cdn_port = cdn.server_address[1]
    threading.Thread(target=cdn.serve_forever, daemon=True).start()
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    port = server.server_address[1]
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(port))
        os.replace(tmp, a.port_file)
    print("hub_mirror: serving %s at http://127.0.0.1:%d" % (mirror.data, port), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
