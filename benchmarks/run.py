"""Benchmark `trueup plan` against sha256sum -c, aide --check and git status on the same trees, in one run.

Usage: python benchmarks/run.py [--sizes 10k,100k] [--runs N] [--out docs/performance.md] [--keep]
       python benchmarks/run.py --drift10k [--runs N]   (only the many-drift-items rows: a few minutes)

For each size it builds a workspace under /tmp (fixed-seed tree from gen_tree.py committed to a git
source repo, a trueup.yaml, installed with plan/approve/apply), then times every command N times with
/usr/bin/time (wall and peak RSS of the largest process) and reports medians and trueup/peer ratios.
Public tools only; aide runs only when installed. Trees are deleted at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable
TRUEUP = str(Path(PY).with_name("trueup"))  # the console script itself: no shell shim in the timing
SIZES = {"10k": (10_000, 200 << 20), "100k": (100_000, 1 << 30)}
GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.invalid", "-c", "advice.detachedHead=false"]


def sh(cmd: list[str] | str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), check=check, capture_output=True)


def timed(cmd: str, cwd: Path, runs: int, prepare: str | None = None, warmup: int = 1) -> dict:
    """Median wall seconds and peak RSS (MiB) of ``cmd`` over ``runs``; ``prepare`` runs untimed before each."""
    walls, rss = [], []
    with tempfile.NamedTemporaryFile("r", suffix=".time") as out:
        for i in range(warmup + runs):
            if prepare:
                sh(prepare.replace("{i}", str(i)), cwd=cwd)
            proc = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", out.name, "sh", "-c", cmd + " >/dev/null 2>&1"],
                                  cwd=cwd, capture_output=True)
            wall_s, rss_kb = open(out.name).read().split()[-2:]
            if i >= warmup:
                walls.append(float(wall_s))
                rss.append(int(rss_kb) / 1024)
            if proc.returncode not in (0, 1, 2):  # 1/2: checkers and --detailed-exitcode reporting differences
                raise RuntimeError(f"{cmd!r} exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    return {"wall": statistics.median(walls), "rss": statistics.median(rss), "walls": walls}


def gen(*args: str) -> str:
    return f"{PY} {HERE / 'gen_tree.py'} " + " ".join(args)


def workspace(base: Path, size: str) -> Path:
    n, nbytes = SIZES[size]
    ws = base / size
    src = ws / "src" / "big"
    t = time.monotonic()
    tagged_source(src, n, nbytes)
    if size == "10k":  # a second commit for the upgrade run: 2% rewritten
        sh(gen(str(src), f"--files {n}", f"--bytes {nbytes}", "--mutate 0.02", "--round 999"))
        sh(GIT + ["commit", "-qam", "v2"], cwd=src)
        sh(GIT + ["tag", "v2"], cwd=src)
        sh(GIT + ["checkout", "-q", "v1"], cwd=src)
    sh(GIT + ["status", "--porcelain"], cwd=src)  # settle the index (racy entries) before timing
    install_v1(ws)
    inst = ws / "installed" / "big"
    sh("find . -type f ! -path './.trueup/*' -print0 | xargs -0 sha256sum > ../../sums.txt", cwd=inst)
    print(f"[{size}] workspace ready in {time.monotonic() - t:.0f} s", file=sys.stderr)
    return ws


def write_manifest(ws: Path, ref: str) -> None:
    (ws / "trueup.yaml").write_text(
        "version: 1\nstate_dir: .trueup-state\ncomponents:\n  - name: big\n"
        f"    source: {{repo: src/big, ref: {ref}}}\n    install:\n      path: installed/big\n")


def history_off(ws: Path) -> Path:
    """A second workspace over the same source, install and state dir, with history not recorded."""
    off = ws / "history-off"
    off.mkdir(exist_ok=True)
    (off / "trueup.yaml").write_text(
        f"version: 1\nstate_dir: {ws}/.trueup-state\nhistory: {{record: false}}\ncomponents:\n  - name: big\n"
        f"    source: {{repo: {ws}/src/big, ref: v1}}\n    install:\n      path: {ws}/installed/big\n")
    return off


def aide_setup(ws: Path) -> Path | None:
    if not shutil.which("aide"):
        return None
    conf = ws / "aide.conf"
    # sha256 only, like the other verifiers: no other attributes, no compression.
    conf.write_text(f"database_in=file:{ws}/aide.db\ndatabase_out=file:{ws}/aide.db.new\ngzip_dbout=no\n"
                    f"H = sha256\n{ws}/installed/big H\n!{ws}/installed/big/.trueup\n")
    sh(["aide", "--init", "-c", str(conf)], check=False)
    os.replace(ws / "aide.db.new", ws / "aide.db")
    return conf


def bench_size(base: Path, size: str, runs: int) -> dict:
    ws = workspace(base, size)
    r: dict[str, dict] = {}
    plan = f"{TRUEUP} plan --json"
    r["trueup plan --no-cache (cold)"] = timed(f"{plan} --no-cache", ws, runs)
    r["trueup plan (warm, no change)"] = timed(plan, ws, runs)
    # The same workspace with history off (issue 12: recording history costs <= 5% of a warm plan).
    off = history_off(ws)
    r["trueup plan (warm, no change, history off)"] = timed(f"{plan} -w {off}", ws, runs)
    obs = f"{PY} {HERE / 'observe.py'} installed/big"
    r["observe_tree cold (no cache)"] = timed(obs, ws, runs)
    r["observe_tree warm"] = timed(f"{obs} --cache-dir {ws}/obs-cache", ws, runs)
    r["sha256sum -c"] = timed("sha256sum -c --quiet ../../sums.txt", ws / "installed" / "big", runs)
    conf = aide_setup(ws)
    if conf:
        r["aide --check (sha256)"] = timed(f"aide --check -c {conf}", ws, max(1, runs // 2 + 1))
    r["git status --porcelain"] = timed("git status --porcelain", ws / "src" / "big", runs)
    n, nbytes = SIZES[size]
    # Each run: the previous run's 1% put back, a new 1% rewritten, so every run sees exactly 1% drift.
    mutate = gen("installed/big", f"--files {n}", f"--bytes {nbytes}", "--mutate 0.01", "--round {i}",
                 f"--undo {ws}/undo-installed")
    r["trueup plan (warm, 1% changed)"] = timed(plan, ws, runs, prepare=mutate)
    r["trueup plan (warm, 1% changed, history off)"] = timed(f"{plan} -w {off}", ws, runs, prepare=mutate)
    r["observe_tree warm, 1% changed"] = timed(f"{obs} --cache-dir {ws}/obs-cache", ws, runs, prepare=mutate)
    mutate_src = gen("src/big", f"--files {n}", f"--bytes {nbytes}", "--mutate 0.01", "--round {i}",
                     f"--undo {ws}/undo-src")
    r["git status (1% changed)"] = timed("git -C src/big status --porcelain", ws, runs, prepare=mutate_src)
    sh(GIT + ["checkout", "-q", "--", "."], cwd=ws / "src" / "big")
    if size == "10k":
        flip = (f"{PY} -c \"import sys,pathlib;p=pathlib.Path('trueup.yaml');t=p.read_text();"
                f"p.write_text(t.replace('ref: v1','ref: v2') if 'ref: v1' in t else t.replace('ref: v2','ref: v1'))\"")
        sh(f"{TRUEUP} plan -o p.json; {TRUEUP} approve p.json --all && {TRUEUP} apply p.json", cwd=ws)  # clean state
        r["trueup upgrade v1<->v2 (plan+approve+apply)"] = timed(
            f"{TRUEUP} plan -o p.json; {TRUEUP} approve p.json --all && {TRUEUP} apply p.json", ws, runs, prepare=flip)
        r["trueup apply (upgrade only)"] = timed(
            f"{TRUEUP} apply p.json", ws, runs,
            prepare=flip + f" && ({TRUEUP} plan -o p.json; {TRUEUP} approve p.json --all)")
        r["git checkout v1<->v2"] = timed(
            "git checkout -q $(git describe --tags --exact-match HEAD | sed 's/v1/X/;s/v2/v1/;s/X/v2/')",
            ws / "src" / "big", runs)
    return r


def tagged_source(src: Path, files: int, nbytes: int) -> None:
    """A generated tree of ``files`` files committed and tagged v1 at ``src``."""
    sh(gen(str(src), f"--files {files}", f"--bytes {nbytes}"))
    sh(GIT + ["init", "-q", str(src)])
    sh(GIT + ["add", "-A"], cwd=src)
    sh(GIT + ["commit", "-qm", "v1"], cwd=src)
    sh(GIT + ["tag", "v1"], cwd=src)


def install_v1(ws: Path) -> None:
    write_manifest(ws, "v1")
    sh(f"{TRUEUP} plan -o p.json; {TRUEUP} approve p.json --all && {TRUEUP} apply p.json", cwd=ws)


def small_install(ws: Path) -> None:
    """A 10-file source tagged v1 under ``ws``, installed by trueup."""
    tagged_source(ws / "src" / "big", 10, 40000)
    install_v1(ws)


def small_plan(base: Path, runs: int) -> dict:
    """A 10-file component: startup and imports dominate."""
    ws = base / "10files"
    small_install(ws)
    return {"trueup plan (10 files)": timed(f"{TRUEUP} plan --json", ws, runs),
            "python -c pass": timed(f"{PY} -c pass", ws, runs),
            "trueup --help": timed(f"{TRUEUP} --help", ws, runs)}


def drift_plan(base: Path, items: int, runs: int) -> dict:
    """A 10k-file install with ``items`` drift items no directory summary can fold: half of them tracked files
    rewritten (local patches, two actions each), half new files beside tracked ones (one action each)."""
    ws = base / f"drift{items}"
    tagged_source(ws / "src" / "big", 10000, 40 << 20)
    install_v1(ws)
    inst = ws / "installed" / "big"
    tracked = sorted(p for p in inst.rglob("*") if p.is_file() and ".trueup" not in p.parts)
    for i, path in enumerate(tracked[: items // 2]):
        path.write_bytes(path.read_bytes()[:64] + f"patched {i}\n".encode())
    for i, path in enumerate(tracked[: items - items // 2]):
        (path.parent / f"new{i}.txt").write_text(f"new {i}\n")
    time.sleep(2.1)  # past the stat cache's racy window, so the warm rows are warm
    r: dict[str, dict] = {}
    sh(f"{TRUEUP} plan -o p.json", cwd=ws, check=False)
    r[f"trueup plan ({items} drift items, warm)"] = timed(f"{TRUEUP} plan -o p.json", ws, runs)
    r[f"trueup plan --no-cache ({items} drift items)"] = timed(f"{TRUEUP} plan --no-cache -o p.json", ws, runs)
    shutil.copy(ws / "p.json", ws / "p0.json")
    r[f"trueup show ({items} drift items)"] = timed(f"{TRUEUP} show p0.json", ws, runs)
    r[f"trueup show --json ({items} drift items)"] = timed(f"{TRUEUP} show p0.json --json", ws, runs)
    r[f"trueup approve --all ({items} drift items)"] = timed(f"{TRUEUP} approve p.json --all", ws, runs,
                                                            prepare="cp p0.json p.json")
    r[f"apply's precondition check ({items} drift items)"] = timed(f"{PY} {HERE / 'recheck.py'} p0.json", ws, runs)
    return r


def untracked_dir_plan(base: Path, runs: int, n: int = 60_000) -> dict:
    """A 10-file install with a forgotten node_modules/ of ``n`` files: one drift item."""
    ws = base / "untracked-dir"
    small_install(ws)
    nm = ws / "installed" / "big" / "node_modules"
    for i in range(n):
        d = nm / f"pkg{i // 100}" / ("lib" if i % 2 else "")
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.js").write_text(f"module.exports = {i};\n")
    time.sleep(2.1)
    sh(f"{TRUEUP} plan -o p.json", cwd=ws, check=False)
    return {f"trueup plan (untracked dir of {n} files, warm)": timed(f"{TRUEUP} plan -o p.json", ws, runs),
            f"trueup plan --no-cache (untracked dir of {n} files)": timed(f"{TRUEUP} plan --no-cache -o p.json", ws,
                                                                           runs),
            f"trueup show (untracked dir of {n} files)": timed(f"{TRUEUP} show p.json", ws, runs)}


def pycs_fresh() -> list[str]:
    """Modules of trueup (and of the dependencies every start imports) whose byte-compiled file is missing or
    stale: each start compiles them again when PYTHONDONTWRITEBYTECODE is set, as it is on this machine."""
    import importlib.util

    import sysconfig

    purelib = Path(sysconfig.get_paths()["purelib"])
    deps = [purelib / d for d in ("typer", "click", "rich", "attr", "attrs", "ruamel", "pathspec")]
    stale = []
    for path in [p for d in (REPO / "trueup", *deps) if d.exists() for p in d.rglob("*.py")]:
        pyc = Path(importlib.util.cache_from_source(str(path)))
        st = path.stat()
        # Python's own test: the pyc header records the source's mtime and size (unless hash-based, flags != 0).
        header = pyc.read_bytes()[:16] if pyc.exists() else b""
        if len(header) < 16 or (int.from_bytes(header[4:8], "little") == 0 and (
                int.from_bytes(header[8:12], "little") != int(st.st_mtime) & 0xFFFFFFFF
                or int.from_bytes(header[12:16], "little") != st.st_size & 0xFFFFFFFF)):
            stale.append(str(path))
    return stale


def compile_trueup() -> None:
    # An installed package is byte-compiled by pip; an editable checkout is not, and where
    # PYTHONDONTWRITEBYTECODE is set every start would compile trueup from source (~50 ms; more for a
    # checkout edited since: see docs/performance.md, "Start-up and byte-compiled files").
    import sysconfig

    # The dependencies too: pip under PYTHONDONTWRITEBYTECODE leaves them without .pyc files (~0.2 s a start).
    sh([PY, "-m", "compileall", "-q", str(REPO / "trueup"), sysconfig.get_paths()["purelib"]], check=False)
    stale = pycs_fresh()
    if stale:
        raise SystemExit(f"byte-compiled files still stale after compileall: {stale[:3]}; timings would include "
                         "compiling trueup")
    print("byte-compiled files of trueup and its dependencies are fresh: no timing below includes compiling them",
          file=sys.stderr)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    git = sh(["git", "--version"]).stdout.decode().strip()
    aide = sh("aide --version 2>&1 | head -1", check=False).stdout.decode().strip() or "not installed"
    return (f"nproc {os.cpu_count()}, CPU {cpu}, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {git}, {aide}, load average at start {os.getloadavg()[0]:.2f}")


def table(results: dict[str, dict]) -> str:
    lines = ["| command | median wall (s) | peak RSS (MiB) | runs (s) |", "|---|---:|---:|---|"]
    for name, m in results.items():
        lines.append(f"| `{name}` | {m['wall']:.3f} | {m['rss']:.0f} | {' '.join(f'{w:.2f}' for w in m['walls'])} |")
    return "\n".join(lines)


def ratios(r: dict[str, dict]) -> list[tuple[str, float]]:
    def w(name: str) -> float | None:
        return r[name]["wall"] if name in r else None

    out = []
    pairs = [("observe_tree cold (no cache)", "sha256sum -c"), ("observe_tree warm", "git status --porcelain"),
             ("observe_tree warm, 1% changed", "git status --porcelain"),
             ("trueup plan --no-cache (cold)", "sha256sum -c"), ("trueup plan --no-cache (cold)", "aide --check (sha256)"),
             ("trueup plan (warm, no change)", "git status --porcelain"),
             ("trueup plan (warm, 1% changed)", "git status --porcelain"),
             ("trueup plan (warm, 1% changed)", "git status (1% changed)"),
             ("trueup apply (upgrade only)", "git checkout v1<->v2"),
             ("trueup plan (warm, no change)", "trueup plan (warm, no change, history off)"),
             ("trueup plan (warm, 1% changed)", "trueup plan (warm, 1% changed, history off)")]
    for a, b in pairs:
        if w(a) is not None and w(b):
            out.append((f"{a} / {b}", w(a) / w(b)))
    return out


def watch_rows(base: Path, sizes: str, runs: int) -> list[str]:
    """benchmarks/watch.py on each size's workspace."""
    import watch  # benchmarks/watch.py (this script's directory is on sys.path)

    rows = []
    for size in filter(None, sizes.split(",")):
        ws = workspace(base, size)
        rows += [f"### trueup watch, {size} files", "", *watch.bench(ws, TRUEUP, runs), ""]
        print("\n".join(rows), file=sys.stderr)
    return rows


def provenance_rows(base: Path, runs: int, components: int = 50, files: int = 40) -> list[str]:
    """`trueup verify` on ``components`` installs, each from its own source with an SSH-signed tag (40 files of
    4 KB), against the peers it stands in for, timed in the same run: `git verify-tag` of every tag alone, and
    `sha256sum -c` of every installed file alone (trueup verify does both, and binds the bytes to the tree)."""
    ws = base / "provenance"
    keys = ws / "keys"
    keys.mkdir(parents=True)
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(keys / "signer")])
    (ws / "allowed_signers").write_text(f'bench@example.invalid namespaces="git" {(keys / "signer.pub").read_text()}')
    lines = ["version: 1", "state_dir: .trueup-state", "components:"]
    for n in range(components):
        src = ws / "src" / f"c{n:02d}"
        sh(gen(str(src), f"--files {files}", f"--bytes {files * 4096}", f"--seed {n}"))
        sh(GIT + ["init", "-q", str(src)])
        sh(GIT + ["add", "-A"], cwd=src)
        sh(GIT + ["commit", "-qm", "v1"], cwd=src)
        sh(GIT + ["-c", "gpg.format=ssh", "-c", f"user.signingkey={keys / 'signer'}", "tag", "-s", "-m", "v1", "v1"],
           cwd=src)
        lines += [f"  - name: c{n:02d}", f"    source: {{repo: src/c{n:02d}, ref: v1}}",
                  f"    install: {{path: installed/c{n:02d}}}", "    trust: {allowed_signers: allowed_signers}",
                  "    require: signed"]
    (ws / "trueup.yaml").write_text("\n".join(lines) + "\n")
    sh(f"{TRUEUP} plan -o p.json; {TRUEUP} approve p.json --all && {TRUEUP} apply p.json", cwd=ws)
    sh(f"cd installed && find . -type f -not -path '*/.trueup/*' -print0 | xargs -0 sha256sum > ../sums", cwd=ws)
    verify_tags = (f"for d in src/*; do git -C $d -c gpg.format=ssh -c gpg.ssh.allowedSignersFile={ws}/allowed_signers "
                   "verify-tag v1 || exit 3; done")
    rows = {f"trueup verify ({components} components, {components * files} files)": timed(f"{TRUEUP} verify", ws, runs),
            f"git verify-tag x{components}": timed(verify_tags, ws, runs),
            f"sha256sum -c ({components * files} files)": timed("cd installed && sha256sum --quiet -c ../sums", ws, runs)}
    names = list(rows)
    out = [f"### trueup verify, {components} components", "", table(rows), ""]
    out += [f"- trueup verify / {peer}: **{rows[names[0]]['wall'] / rows[peer]['wall']:.2f}×**" for peer in names[1:]]
    print("\n".join(out), file=sys.stderr)
    return out + [""]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10k,100k")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--base", type=Path, default=Path("/tmp/trueup-bench"))
    ap.add_argument("--out", type=Path, help="write the markdown report here (else stdout)")
    ap.add_argument("--keep", action="store_true", help="keep the generated trees")
    ap.add_argument("--watch", action="store_true",
                    help="only trueup watch's rows (edit → alert p50/p99; a plan fed by its events vs git status)")
    ap.add_argument("--provenance", action="store_true",
                    help="only the trueup verify rows (50 SSH-signed components; vs git verify-tag x50 and sha256sum -c)")
    ap.add_argument("--drift10k", action="store_true",
                    help="only the many-drift-items rows (2,500 and 10,000 items; a 60,000-file untracked directory)")
    args = ap.parse_args()
    shutil.rmtree(args.base, ignore_errors=True)
    args.base.mkdir(parents=True)
    compile_trueup()
    report = [f"Machine: {machine()}", ""]
    results: dict[str, dict] = {}
    if args.drift10k:
        args.sizes = ""
    try:
        if args.provenance:
            report += provenance_rows(args.base, args.runs)
            args.sizes = ""
        if args.watch:
            report += watch_rows(args.base, args.sizes, args.runs)
            args.sizes = ""
        if args.drift10k or "10k" in args.sizes.split(","):
            drift = {**drift_plan(args.base, 2_500, args.runs), **drift_plan(args.base, 10_000, args.runs),
                     **untracked_dir_plan(args.base, args.runs)}
            report += ["### many drift items", "", table(drift), ""]
            print("\n".join(report), file=sys.stderr)
        for size in filter(None, args.sizes.split(",")):
            results[size] = bench_size(args.base, size, args.runs)
            report += [f"### {size} files ({SIZES[size][1] >> 20} MB)", "", table(results[size]), ""]
            report += [f"- {name}: **{v:.2f}×**" for name, v in ratios(results[size])] + [""]
            print("\n".join(report), file=sys.stderr)
            if not args.keep:
                shutil.rmtree(args.base / size, ignore_errors=True)
        small = small_plan(args.base, args.runs * 2) if not (args.drift10k or args.watch or args.provenance) else {}
        if small:
            report += ["### startup", "", table(small), ""]
        if "10k" in results and "100k" in results:
            report += ["### scaling 100k / 10k (wall)", ""]
            for name in results["10k"]:
                if name in results["100k"]:
                    report.append(f"- {name}: {results['100k'][name]['wall'] / results['10k'][name]['wall']:.1f}")
    finally:
        if not args.keep:
            shutil.rmtree(args.base, ignore_errors=True)
    text = "\n".join(report) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
