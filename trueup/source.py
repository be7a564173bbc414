"""A component's git source, read through the git command line: refs, trees, blobs, versions."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sized
from pathlib import Path
from types import MappingProxyType

from attrs import frozen

from trueup import source_memo
from trueup.errors import GitError
from trueup.manifest import ComponentSpec, resolve_user_path

_URL = re.compile(r"^([a-z][a-z0-9+.-]*://|[^/]+@[^/]+:)")
# git file modes → the mode trueup installs with; gitlinks (160000) are not files and are skipped.
_GIT_MODES = {"100644": "0644", "100755": "0755", "120000": None}


def _package_json(raw: bytes) -> str | None:
    try:
        value = json.loads(raw).get("version")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _pyproject(raw: bytes) -> str | None:
    try:
        import tomllib  # only when a component declares its version in pyproject.toml

        value = tomllib.loads(raw.decode()).get("project", {}).get("version")
    except (ValueError, UnicodeDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _skill_front_matter(raw: bytes) -> str | None:
    match = re.match(rb"---\s*\n(.*?)\n---", raw, re.S)
    version = match and re.search(rb"^version:\s*['\"]?([^'\"\s]+)", match.group(1), re.M)
    return version.group(1).decode(errors="replace") if version else None


def _version_file(raw: bytes) -> str | None:
    return raw.decode(errors="replace").strip() or None


# Where a source declares its version, in order of precedence (pure parsers of the file's bytes).
VERSION_FILES = {
    "package.json": _package_json,
    "pyproject.toml": _pyproject,
    "SKILL.md": _skill_front_matter,
    "VERSION": _version_file,
}


def _cost(per_item: int) -> Callable[[Sized], int]:
    """What an answer of that many items costs trueup watch's memory budget (roughly bytes; source_memo.py)."""
    return lambda value: 100 + per_item * len(value)


@frozen
class TreeEntry:
    path: str
    type: str  # file | symlink
    mode: str | None
    blob: str


def _git(repo: Path, *args: str, input: bytes | None = None) -> bytes:
    proc = subprocess.run(["git", "-C", str(repo), *args], input=input, capture_output=True)
    if proc.returncode != 0:
        detail = proc.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args[:2])} failed in {repo}: {detail[-1] if detail else 'exit ' + str(proc.returncode)}")
    return proc.stdout


def repo_location(spec: ComponentSpec, workspace: Path, state_dir: Path) -> Path:
    """Where to read the source: the local repo, or trueup's mirror of a remote one."""
    if _URL.match(spec.repo):
        return state_dir / "sources" / (hashlib.sha256(spec.repo.encode()).hexdigest()[:16] + ".git")
    return resolve_user_path(spec.repo, workspace)


def refresh_mirror(spec: ComponentSpec, location: Path) -> None:
    """Clone or fetch a remote source into trueup's own cache (the only write plan may make)."""
    if not _URL.match(spec.repo):
        return
    if location.exists():
        source_memo.forget_refs(location)  # the fetch rewrites refs: a watch cycle that fetched asks git afresh
        # Tags forced too: a tag moved upstream must reach the mirror, where provenance reports it as moved-tag drift
        # (never a recommended upgrade); a fetch refusing to clobber it failed every plan with no way out.
        _git(location, "fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
    else:
        location.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["git", "clone", "--quiet", "--mirror", spec.repo, str(location)], capture_output=True)
        if proc.returncode != 0:
            raise GitError(f"cannot clone {spec.repo}: {proc.stderr.decode(errors='replace').strip()}")


@frozen
class Source:
    """A git repository; inside trueup watch what a cycle asks is remembered until it changes (source_memo.py)."""

    repo: Path

    def check(self) -> None:
        if not self.repo.exists():
            raise GitError(f"source repository {self.repo} does not exist", hint="fix source.repo in trueup.yaml")
        if not source_memo.checked(self.repo, self._git_dirs):
            _git(self.repo, "rev-parse", "--git-dir")

    def _git_dirs(self) -> tuple[Path, Path] | None:
        """(git dir, common git dir) — a linked worktree's refs are in both — or None if git will not say."""
        out = _git(self.repo, "rev-parse", "--path-format=absolute", "--git-dir", "--git-common-dir")
        dirs = [Path(line) for line in out.decode("utf-8", "surrogateescape").splitlines()]
        return (dirs[0], dirs[1]) if len(dirs) == 2 and all(d.is_absolute() for d in dirs) else None

    def resolve(self, ref: str) -> str:
        def ask() -> str:
            try:
                return _git(self.repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").decode().strip()
            except GitError:
                raise GitError(f"ref {ref!r} does not resolve to a commit in {self.repo}",
                               hint="check source.ref: a tag, branch or commit of that repository") from None

        if source_memo.OBJECT_ID.fullmatch(ref):  # a pinned commit: git reads it as an id, whatever refs exist
            return source_memo.by_ids(self.repo, "resolve", (ref,), ask, len, str)
        return source_memo.by_ref(self.repo, "resolve", ref, ask)

    def has_commit(self, commit: str) -> bool:
        def ask() -> bool:
            try:
                _git(self.repo, "cat-file", "-e", f"{commit}^{{commit}}")
                return True
            except GitError:
                return False

        return source_memo.has_object(self.repo, commit, ask)

    def is_tag(self, ref: str) -> bool:
        def ask() -> bool:
            try:
                _git(self.repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{ref}")
                return True
            except GitError:
                return False

        return source_memo.by_ref(self.repo, "is-tag", f"refs/tags/{ref}", ask)

    def tree(self, commit: str) -> Mapping[str, TreeEntry]:
        # Handed out read-only, not copied: a 100k-file tree takes 4 ms to copy.
        return source_memo.by_ids(self.repo, "tree", (commit,), lambda: self._tree(commit), _cost(300),
                                  MappingProxyType)  # type: ignore[arg-type]

    def _tree(self, commit: str) -> dict[str, TreeEntry]:
        out: dict[str, TreeEntry] = {}
        for record in _git(self.repo, "ls-tree", "-r", "-z", "--full-tree", commit).split(b"\0"):
            if not record:
                continue
            meta, _, path = record.partition(b"\t")
            mode, _kind, blob = meta.decode().split()
            if mode not in _GIT_MODES:
                continue
            name = path.decode("utf-8", errors="surrogateescape")
            out[name] = TreeEntry(name, "symlink" if mode == "120000" else "file", _GIT_MODES[mode], blob)
        return out

    def tags(self, limit: int) -> list[tuple[str, str, str]]:
        """(tag, commit, tree) of the newest ``limit`` tags that point at commits, newest first."""
        raw = _git(self.repo, "for-each-ref", "--sort=-creatordate", f"--count={limit}",
                   "--format=%(refname:short)%00%(*objectname)%00%(*objecttype)%00%(objectname)%00%(objecttype)",
                   "refs/tags")
        out = []
        for line in raw.decode(errors="replace").splitlines():
            name, peeled, peeled_kind, obj, kind = line.split("\0")
            commit = peeled if peeled_kind == "commit" else obj if kind == "commit" else ""
            if commit:
                out.append((name, commit))
        trees = self.trees([c for _, c in out])
        return [(name, commit, trees[commit]) for name, commit in out if commit in trees]

    def history(self, commit: str, limit: int) -> list[tuple[str, str]]:
        """(commit, tree) of ``commit`` and its first ``limit - 1`` ancestors, newest first."""
        raw = _git(self.repo, "log", f"--max-count={limit}", "--format=%H %T", commit)
        return [tuple(line.split()) for line in raw.decode().splitlines() if line]  # type: ignore[misc]

    def trees(self, commits: list[str]) -> dict[str, str]:
        """commit → its root tree id (commits that do not resolve are left out)."""
        if not commits:
            return {}
        raw = _git(self.repo, "log", "--no-walk=unsorted", "--format=%H %T", *commits)
        return dict(line.split() for line in raw.decode().splitlines() if line)

    def changed_paths(self, old: str, new: str) -> set[str]:
        """Paths whose blob or mode differ between two commits."""
        def ask() -> set[str]:
            raw = _git(self.repo, "diff", "--no-renames", "--name-only", "-z", old, new)
            return {p.decode("utf-8", errors="surrogateescape") for p in raw.split(b"\0") if p}

        return source_memo.by_ids(self.repo, "changed", (old, new), ask, _cost(100), set)

    def renames(self, old: str, new: str) -> dict[str, str]:
        """Old path → new path of every file git sees renamed between two commits (``--find-renames``: a
        removed and an added file at least 50% similar)."""
        return source_memo.by_ids(self.repo, "renames", (old, new), lambda: self._renames(old, new), _cost(200), dict)

    def _renames(self, old: str, new: str) -> dict[str, str]:
        raw = _git(self.repo, "diff", "--find-renames", "--name-status", "-z", old, new).split(b"\0")
        out: dict[str, str] = {}
        i = 0
        while i < len(raw) and raw[i]:
            status = raw[i].decode()
            if status[:1] in "RC":
                if status[:1] == "R":
                    out[raw[i + 1].decode("utf-8", "surrogateescape")] = raw[i + 2].decode("utf-8", "surrogateescape")
                i += 3
            else:
                i += 2
        return out

    def _batch(self, names: list[str]) -> Iterator[tuple[str, str | None, bytes | None]]:
        """Stream (object name, type, content) through one ``git cat-file --batch`` process; a name that
        does not resolve gives (name, None, None)."""
        if not names:
            return
        proc = subprocess.Popen(["git", "-C", str(self.repo), "cat-file", "--batch"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert proc.stdin and proc.stdout
        try:
            for name in names:
                proc.stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
                proc.stdin.flush()
                line = proc.stdout.readline()
                if not line:  # git died: not "missing", which trueup watch would go on believing (source_memo.py)
                    raise GitError(f"git cat-file --batch ended early in {self.repo}")
                header = line.split()
                if len(header) != 3:  # "<name> missing" (or ambiguous)
                    yield name, None, None
                    continue
                data = proc.stdout.read(int(header[2]))
                proc.stdout.read(1)
                yield name, header[1].decode(), data
        finally:
            proc.stdin.close()
            proc.stdout.close()
            proc.wait()

    def blobs(self, blob_ids: list[str]) -> Iterator[tuple[str, bytes]]:
        """Stream (blob id, content) through one ``git cat-file --batch`` process."""
        for blob, _, data in self._batch(blob_ids):
            if data is None:
                raise GitError(f"git cat-file: blob {blob} missing in {self.repo}")
            yield blob, data

    def files_at(self, commit: str, paths: list[str]) -> dict[str, bytes | None]:
        """The content of each path at ``commit`` (None when it is not a file there), in one git process."""
        def ask(wanted: list[str]) -> dict[str, bytes | None]:
            names = [f"{commit}:{path}" for path in wanted]
            found = {name: data if kind == "blob" else None for name, kind, data in self._batch(names)}
            return {path: found.get(name) for path, name in zip(wanted, names)}

        return source_memo.by_path(self.repo, "file", commit, paths, ask, self.has_commit)

    def blob(self, blob_id: str) -> bytes:
        return _git(self.repo, "cat-file", "blob", blob_id)

    def show(self, commit: str, path: str) -> bytes | None:
        def ask(wanted: list[str]) -> dict[str, bytes | None]:
            try:
                return {path: _git(self.repo, "show", f"{commit}:{path}")}
            except GitError:
                return {path: None}

        return source_memo.by_path(self.repo, "show", commit, [path], ask, self.has_commit)[path]

    def file_hashes(self, tree: Mapping[str, TreeEntry], paths, cache_dir: Path | None) -> dict[str, str]:
        """sha256 of the content of ``paths`` in ``tree``; blob → sha256 results are cached (blobs never change)."""
        from trueup.state import blob_memo

        known = blob_memo.load(cache_dir)  # a hint: apply hashes from git what it writes (planner/honest.py)
        wanted = sorted({tree[p].blob for p in paths} - known.keys())
        fresh = {blob: hashlib.sha256(data).hexdigest() for blob, data in self.blobs(wanted)}
        if fresh:
            blob_memo.save(cache_dir, {**known, **fresh})
        known.update(fresh)
        return {p: known[tree[p].blob] for p in paths}

    def version(self, commit: str, ref: str) -> tuple[str | None, dict[str, str]]:
        """The version the source declares, and every declaration found (file → version)."""
        found: dict[str, str] = {}
        contents = self.files_at(commit, list(VERSION_FILES))
        for name, read in VERSION_FILES.items():
            raw = contents[name]
            value = read(raw) if raw else None
            if value:
                found[name] = value
        if self.is_tag(ref):
            found["tag"] = ref
        normalized = {k: v[1:] if v[:1] in "vV" and v[1:2].isdigit() else v for k, v in found.items()}
        for key in (*VERSION_FILES, "tag"):  # the first declaration in this order is the version
            if key in normalized:
                return normalized[key], normalized
        return None, normalized

    def merge_file(self, ours: bytes, base: bytes, theirs: bytes, scratch: Path) -> tuple[bytes, bool]:
        """Three-way merge with ``git merge-file``; returns (result, clean).

        The copies hold the operator's live file: the scratch directory is 0700 and each copy 0600, whatever the
        umask, so no other user can read them while the merge runs."""
        scratch.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(scratch, 0o700)
        paths = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            p = scratch / name
            fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
            with open(fd, "wb") as fh:
                fh.write(data)
            os.chmod(p, 0o600)  # an earlier copy of the same name may have been made with other bits
            paths.append(str(p))
        proc = subprocess.run(["git", "merge-file", "-p", *paths], capture_output=True)
        # 0 = clean, 1..127 = that many conflicts; anything else (binary content) cannot merge.
        return proc.stdout, proc.returncode == 0
