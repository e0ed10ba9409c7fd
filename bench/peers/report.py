#!/usr/bin/env python3
"""Writes the repository's BENCHMARKS.md from one run's results and the template
`BENCHMARKS.md.in` beside this script.

    python3 bench/peers/report.py bench/peers/results [OUT]   # OUT defaults to BENCHMARKS.md

Every figure in the written file comes from the results folder of one `run.sh`
invocation: the seed workload's medians (`table.py`), the lengths workloads'
(`lengths_table.py`) and the targets table computed from both. The template holds
the prose; `{{name}}` placeholders are replaced (an unknown one is an error, so a
template cannot quote a figure this script does not have). Standard library only.
"""

import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE))

import lengths_table  # noqa: E402
import table  # noqa: E402


def git(*args):
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def seed_summary(folder):
    runs = table.load(folder)
    return {t: {name: table.summarise(rs) for name, rs in systems.items()}
            for t, systems in runs.items()}


def lengths_summary(folder):
    runs = lengths_table.load(folder)
    return {t: {name: lengths_table.summarise(rs) for name, rs in systems.items()}
            for t, systems in runs.items()}


def demote(markdown):
    """Headings one level down, so the tables sit under the template's sections."""
    return re.sub(r"^(#+) ", lambda m: "#" + m.group(1) + " ", markdown, flags=re.M)


def get(summary, threads, system, key):
    return (summary.get(threads, {}).get(system) or {}).get(key)


def grid_point(summary, threads, system, point):
    for p in get(summary, threads, system, "grid") or []:
        if (p["timesteps"], p["units"], p["batch"]) == point:
            return p
    return None


def targets(seed, lengths):
    """Issue 15's targets against this run: one row each, the figure and whether it holds."""
    sig, fr = table.sig, table.fmt_ratio
    rows = []

    def row(target, figure, met):
        rows.append(f"| {target} | {figure} | {'yes' if met else ('no' if met is False else '–')} |")

    def vs_torch(key, threads=1):
        r, p = get(seed, threads, "rnn", key), get(seed, threads, "pytorch", key)
        return r, p, (p / r if r and p else None)

    r, p, x = vs_torch("predict_b1_us")
    row("single sample (LSTM) ≥ 20× PyTorch, 1 thread",
        f"{sig(r, 3)} vs {sig(p, 3)} µs: **{fr(x)}**", x and x >= 20)
    for key, what in (("predict_b1_gru_us", "GRU"), ("predict_b1_simple_rnn_us", "SimpleRNN"),
                      ("stream_push_us", "one stream step")):
        r, p, x = vs_torch(key)
        row(f"single sample ({what}) ≥ 20× PyTorch, 1 thread",
            f"{sig(r, 3)} vs {sig(p, 3)} µs: **{fr(x)}**", x and x >= 20)
    r, p, x = vs_torch("predict_b256_us")
    row("batch 256 ≥ 2× PyTorch, 1 thread", f"{sig(r, 4)} vs {sig(p, 4)} µs: **{fr(x)}**",
        x and x >= 2)
    r1, r2 = get(seed, 1, "rnn", "predict_b256_us"), get(seed, 2, "rnn", "predict_b256_us")
    scale = r1 / r2 if r1 and r2 else None
    row("batch 256 on 2 threads ≥ 1.7× 1 thread", f"{sig(r1, 4)} → {sig(r2, 4)} µs: **{fr(scale)}**",
        scale and scale >= 1.7)
    r, p, x = vs_torch("train_s_per_epoch")
    row("training through `fit` ≥ 4× PyTorch, 1 thread",
        f"{sig(r, 3)} vs {sig(p, 3)} s/epoch: **{fr(x)}**", x and x >= 4)
    low, fit = get(seed, 1, "rnn", "lowlevel_s_per_epoch"), get(seed, 1, "rnn", "train_s_per_epoch")
    x = low / fit if low and fit else None
    row("the low-level loop within 10 % of `fit`", f"{sig(low, 3)} vs {sig(fit, 3)} s/epoch: "
        f"**{fr(x)}**", x and x <= 1.10)
    peak = get(seed, 1, "rnn", "fma_peak_gflops_one_core")
    for point in table.EFFICIENCY:
        p = grid_point(seed, 1, "rnn", point)
        if p and peak:
            gflops = table.training_flops(point[0], point[1], p.get("samples") or 1024) \
                / p["train_s_per_epoch"] / 1e9
            row(f"≥ 75 % of the FMA peak at (T, H, batch) = {point}",
                f"{sig(gflops, 3)} of {sig(peak, 3)} GFLOP/s: **{gflops / peak:.0%}**",
                gflops / peak >= 0.75)
        else:
            row(f"≥ 75 % of the FMA peak at (T, H, batch) = {point}", "not run", None)
    for workload, what in (("long_sequences", "T = 1000"), ("masked_tokens", "masked tokens")):
        r = (get(lengths, 1, "rnn", workload) or {}).get("train_s_per_epoch")
        p = (get(lengths, 1, "pytorch", workload) or {}).get("train_s_per_epoch")
        x = p / r if r and p else None
        row(f"{what} ≥ 2× PyTorch, 1 thread", f"{sig(r, 4)} vs {sig(p, 4)} s/epoch: **{fr(x)}**",
            x and x >= 2)
    return "\n".join(["| target | this run | met? |", "| --- | --- | --- |", *rows])


def versions(seed):
    out = []
    for system in table.system_order({s for t in seed.values() for s in t}):
        v = next((seed[t][system]["version"] for t in sorted(seed) if system in seed[t]), "?")
        out.append(f"{system} {v}")
    return ", ".join(out)


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: report.py RESULTS_DIR [OUT]")
    folder = Path(sys.argv[1])
    out = Path(sys.argv[2]) if len(sys.argv) == 3 else ROOT / "BENCHMARKS.md"
    seed, lengths = seed_summary(folder), lengths_summary(folder)
    if not seed:
        sys.exit(f"report.py: no seed-workload results in {folder}")
    peak = get(seed, 1, "rnn", "fma_peak_gflops_one_core")
    isa = None
    for path in sorted(folder.glob("rnn-t1-r*.json")):
        isa = json.loads(path.read_text().strip().splitlines()[-1]).get("fma_peak_isa") or isa
    # run.sh writes run.json when it starts: the commit its binaries were built from.
    # The date is when the newest result was written, not when this script runs.
    run = json.loads((folder / "run.json").read_text()) if (folder / "run.json").exists() else {}
    newest = max(p.stat().st_mtime for p in folder.glob("*-t*-r*.json"))
    values = {
        "date": datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": run.get("commit") or git("rev-parse", "--short", "HEAD"),
        "dirty": " (with uncommitted changes)" if run.get("dirty") else "",
        "threads": ", ".join(str(t) for t in sorted(seed)),
        "rounds": str(max(s["rounds"] for t in seed.values() for s in t.values())),
        "versions": versions(seed),
        "peak": f"{table.sig(peak, 3)} GFLOP/s ({isa})" if peak else "not measured (run with the grid)",
        "targets": targets(seed, lengths),
        "seed_tables": demote(table.markdown(seed)).strip(),
        "lengths_tables": lengths_table.markdown(lengths).strip() if lengths
        else "(not run: `WORKLOADS` did not include `lengths`)",
    }
    # Profiles are taken by hand (perf), not by run.sh: the file says when and on what.
    profile = HERE / "profile.md"
    values["profile"] = profile.read_text().strip() if profile.exists() else "(no profile.md)"
    template = (HERE / "BENCHMARKS.md.in").read_text()
    unknown = sorted(set(re.findall(r"\{\{(\w+)\}\}", template)) - set(values))
    if unknown:
        sys.exit(f"report.py: the template names figures this script does not have: {unknown}")
    text = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], template)
    out.write_text(text)
    print(f"report.py: wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
