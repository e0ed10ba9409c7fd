#!/usr/bin/env python3
"""Summarises benchmark JSON lines (bench/peers/SCHEMA.md) into Markdown tables.

    python3 bench/peers/table.py bench/peers/results

Reads every `<system>-t<N>-r<round>.json` in the folder (one JSON object each),
takes per system and thread count the median over rounds of every number (each grid
point separately), prints Markdown tables to stdout, and writes the medians to
`<folder>/summary.json` for the chart program. Ratios are peer / rnn: how many
times slower than rnn (below 1: faster). Standard library only.
"""

import datetime
import json
import re
import statistics
import sys
from pathlib import Path

ORDER = ["rnn", "pytorch", "keras", "burn", "candle"]
METRICS = ["train_s_per_epoch", "final_loss", "predict_b1_us", "predict_b256_us",
           "predict_b1_us_tf_function", "predict_b256_us_tf_function",
           "predict_b1_gru_us", "predict_b1_simple_rnn_us", "stream_push_us",
           "lowlevel_s_per_epoch", "fma_peak_gflops_one_core"]
# The rows of the inference table: (metric, what it times).
INFERENCE = [
    ("predict_b1_us", "one sample, LSTM(50) (`predict_one`)"),
    ("predict_b1_gru_us", "one sample, GRU(50)"),
    ("predict_b1_simple_rnn_us", "one sample, SimpleRNN(50)"),
    ("stream_push_us", "one time step, state carried (`stream().push`)"),
    ("predict_b256_us", "256 samples, LSTM(50) (`forward`)"),
]
# The grid points whose arithmetic efficiency is reported.
EFFICIENCY = [(20, 256, 32), (100, 256, 32)]


def training_flops(timesteps, units, samples, inputs=1):
    """FLOPs of one training epoch of LSTM(units) on `inputs` features, counted as the
    issues do: forward 2 * 4H * (I + H) per sample and step, backward twice that."""
    return 3 * 2 * 4 * units * (inputs + units) * timesteps * samples
NAME = re.compile(r"^(?P<system>[A-Za-z0-9_]+)-t(?P<threads>\d+)-r(?P<round>\d+)\.json$")


def load(folder):
    """{threads: {system: [result, ...]}} from the folder's result files."""
    runs = {}
    for path in sorted(Path(folder).glob("*.json")):
        m = NAME.match(path.name)
        if not m:
            continue  # summary.json and anything else
        try:
            result = json.loads(path.read_text().strip().splitlines()[-1])
        except (ValueError, IndexError) as e:
            print(f"table.py: skipping {path}: {e}", file=sys.stderr)
            continue
        system = result.get("system", m["system"])
        threads = int(result.get("threads", m["threads"]))
        runs.setdefault(threads, {}).setdefault(system, []).append(result)
    return runs


def median_of(values):
    values = [v for v in values if isinstance(v, (int, float))]
    return statistics.median(values) if values else None


def summarise(results):
    """Medians over rounds of one system at one thread count."""
    s = {"version": results[-1].get("version", "?"), "rounds": len(results)}
    for k in METRICS:
        s[k] = median_of([r.get(k) for r in results])
    variants = {}
    for r in results:
        for v in r.get("variants") or []:
            variants.setdefault(v["variant"], {"layers": v.get("layers"), "values": []})["values"].append(
                v.get("train_s_per_epoch"))
    if variants:
        s["variants"] = [{"variant": name, "layers": v["layers"],
                          "train_s_per_epoch": median_of(v["values"]), "rounds": len(v["values"])}
                         for name, v in variants.items()]
    points = {}
    for r in results:
        for p in r.get("grid") or []:
            key = (p["timesteps"], p["units"], p["batch"])
            points.setdefault(key, {"samples": p.get("samples"), "values": []})["values"].append(
                p.get("train_s_per_epoch"))
    if points:
        s["grid"] = [
            {"timesteps": t, "units": u, "batch": b, "samples": v["samples"],
             "train_s_per_epoch": median_of(v["values"]), "rounds": len(v["values"])}
            for (t, u, b), v in points.items()
        ]
    return s


def ratio(value, base):
    if value is None or base is None or base == 0:
        return None
    return value / base


def sig(x, digits=3):
    """A number with `digits` significant digits, plain notation where it stays short."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    text = f"{x:#.{digits}g}"  # '#': keep trailing zeros, so columns read alike
    if "e" in text:
        mantissa, exp = text.split("e")
        exp = int(exp)
        if -4 <= exp < 6:
            return f"{x:.{max(digits - 1 - exp, 0)}f}"
        return f"{mantissa.rstrip('.')}e{exp}"
    return text.rstrip(".")


def fmt_ratio(r):
    return "–" if r is None else f"{sig(r)}×"


def cell(system, value, rnn_value):
    """A table cell: the value, and for a peer its ratio to rnn's in parentheses."""
    if value is None:
        return "–"
    if system == "rnn" or rnn_value is None:
        return sig(value, 4)
    return f"{sig(value, 4)} ({fmt_ratio(ratio(value, rnn_value))})"


def system_order(systems):
    return sorted(systems, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))


def markdown(summary):
    out = []
    for threads in sorted(summary):
        systems = summary[threads]
        names = system_order(systems)
        base = systems.get("rnn")
        out.append(f"## {threads} thread{'s' if threads != 1 else ''}\n")
        out.append("Seed workload: N = 4096, T = 20, H = 50, batch 32; median of epochs 2..=6, "
                   "then median over rounds. × rnn = peer / rnn (how many times slower).\n")
        out.append("| system | version | rounds | train s/epoch | × rnn | predict b1 µs | × rnn "
                   "| predict b256 µs | × rnn | final loss |")
        out.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name in names:
            s = systems[name]
            cells = [name, str(s["version"]), str(s["rounds"])]
            for k in ("train_s_per_epoch", "predict_b1_us", "predict_b256_us"):
                cells.append(sig(s[k], 4))
                cells.append(fmt_ratio(ratio(s[k], base and base[k])))
            cells.append(sig(s["final_loss"], 3))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
        for name in names:
            s = systems[name]
            if s.get("predict_b1_us_tf_function") is not None:
                b1, b256 = s["predict_b1_us_tf_function"], s["predict_b256_us_tf_function"]
                out.append(f"{name} through `tf.function` (traced once): predict b1 {sig(b1, 4)} µs "
                           f"({fmt_ratio(ratio(b1, base and base['predict_b1_us']))} rnn), "
                           f"b256 {sig(b256, 4)} µs "
                           f"({fmt_ratio(ratio(b256, base and base['predict_b256_us']))} rnn).\n")

        out.extend(inference_table(systems, names, base))

        gridded = [n for n in names if systems[n].get("grid")]
        if gridded:
            keys = []
            for n in gridded:
                for p in systems[n]["grid"]:
                    key = (p["timesteps"], p["units"], p["batch"])
                    if key not in keys:
                        keys.append(key)
            lookup = {n: {(p["timesteps"], p["units"], p["batch"]): p["train_s_per_epoch"]
                          for p in systems[n]["grid"]} for n in gridded}
            samples = {p.get("samples") for n in gridded for p in systems[n]["grid"]}
            out.append(f"Grid (N = {', '.join(str(s) for s in sorted(samples, key=str))}; "
                       "train s/epoch, median of epochs 2..=4; in parentheses × rnn):\n")
            out.append("| T | H | batch | " + " | ".join(gridded) + " |")
            out.append("| ---: | ---: | ---: | " + " | ".join("---:" for _ in gridded) + " |")
            for key in keys:
                cells = [str(k) for k in key]
                b = lookup.get("rnn", {}).get(key)
                cells.extend(cell(n, lookup[n].get(key), b) for n in gridded)
                out.append("| " + " | ".join(cells) + " |")
            out.append("")
            out.extend(efficiency_table(systems, gridded, base))
        out.extend(variants_table(systems, names, base))
    return "\n".join(out)


def variants_table(systems, names, base):
    """The seed workload's per-epoch time with other model shapes (`--variants`)."""
    shown = [n for n in names if systems[n].get("variants")]
    if not shown:
        return []
    rows = []
    for n in shown:
        for v in systems[n]["variants"]:
            if v["variant"] not in [r[0] for r in rows]:
                rows.append((v["variant"], v.get("layers")))
    lookup = {n: {v["variant"]: v["train_s_per_epoch"] for v in systems[n]["variants"]} for n in shown}
    out = ["Other model shapes (the seed workload, train s/epoch; in parentheses × rnn):\n",
           "| model | " + " | ".join(shown) + " |",
           "| --- | " + " | ".join("---:" for _ in shown) + " |"]
    for name, layers in rows:
        b = lookup.get("rnn", {}).get(name)
        cells = [f"`{layers}`" if layers else name]
        cells.extend(cell(n, lookup[n].get(name), b) for n in shown)
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return out


def inference_table(systems, names, base):
    """Single-sample, streaming and batch inference of every system that reports
    them, and rnn's low-level training loop against its `fit`."""
    shown = [n for n in names if any(systems[n].get(k) is not None for k, _ in INFERENCE[1:4])]
    if not shown:
        return []
    out = ["Inference (median µs of a call; in parentheses × rnn):\n",
           "| what | " + " | ".join(shown) + " |",
           "| --- | " + " | ".join("---:" for _ in shown) + " |"]
    for key, what in INFERENCE:
        cells = [what]
        cells.extend(cell(n, systems[n].get(key), base and base.get(key)) for n in shown)
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    if base and base.get("lowlevel_s_per_epoch") is not None:
        low, fit = base["lowlevel_s_per_epoch"], base["train_s_per_epoch"]
        out.append(f"rnn's own training loop (the guide's \"Step by step\": `select` batches, "
                   f"`loss_and_grads_into`, `Adam::step`): {sig(low, 4)} s/epoch, "
                   f"{fmt_ratio(ratio(low, fit))} its `fit` ({sig(fit, 4)} s).\n")
    return out


def efficiency_table(systems, gridded, base):
    """GFLOP/s at the larger grid points, and rnn's share of the one-core FMA peak
    measured in the same run."""
    peak = base and base.get("fma_peak_gflops_one_core")
    out = ["Arithmetic at H = 256 (GFLOP/s of the training epoch"
           + (f"; rnn's share of the {sig(peak, 3)} GFLOP/s one-core FMA peak measured in the same run"
              if peak else "") + "):\n",
           "| T | H | batch | " + " | ".join(gridded) + " |",
           "| ---: | ---: | ---: | " + " | ".join("---:" for _ in gridded) + " |"]
    rows = 0
    for (t, h, b) in EFFICIENCY:
        cells = [str(t), str(h), str(b)]
        for n in gridded:
            p = next((p for p in systems[n]["grid"]
                      if (p["timesteps"], p["units"], p["batch"]) == (t, h, b)), None)
            if p is None or not p.get("train_s_per_epoch"):
                cells.append("–")
                continue
            gflops = training_flops(t, h, p.get("samples") or 1024) / p["train_s_per_epoch"] / 1e9
            text = sig(gflops, 3)
            if n == "rnn" and peak:
                text += f" ({gflops / peak:.0%})"
            cells.append(text)
        rows += 1
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    return out if rows else []


def with_ratios(summary):
    """summary.json: the medians, with ratios to rnn beside them."""
    doc = {"generated": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "ratio": "peer / rnn (how many times slower than rnn)",
           "threads": {}}
    for threads in sorted(summary):
        systems = summary[threads]
        base = systems.get("rnn")
        entry = {}
        for name in system_order(systems):
            s = dict(systems[name])
            s["ratio_to_rnn"] = {k: ratio(s[k], base and base[k])
                                 for k in ("train_s_per_epoch", "predict_b1_us", "predict_b256_us",
                                           "predict_b1_gru_us", "predict_b1_simple_rnn_us",
                                           "stream_push_us")}
            if s.get("grid"):
                base_grid = {(p["timesteps"], p["units"], p["batch"]): p["train_s_per_epoch"]
                             for p in (base or {}).get("grid") or []}
                s["grid"] = [dict(p, ratio_to_rnn=ratio(p["train_s_per_epoch"],
                                                        base_grid.get((p["timesteps"], p["units"], p["batch"]))))
                             for p in s["grid"]]
            entry[name] = s
        doc["threads"][str(threads)] = entry
    return doc


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: table.py RESULTS_DIR")
    folder = Path(sys.argv[1])
    runs = load(folder)
    if not runs:
        sys.exit(f"table.py: no <system>-t<N>-r<round>.json files in {folder}")
    summary = {t: {name: summarise(rs) for name, rs in systems.items()} for t, systems in runs.items()}
    print(markdown(summary))
    (folder / "summary.json").write_text(json.dumps(with_ratios(summary), indent=2) + "\n")
    print(f"(medians written to {folder / 'summary.json'})", file=sys.stderr)


if __name__ == "__main__":
    main()
