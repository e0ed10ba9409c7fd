"""What the Python peer benchmarks share: the workload's sizes, timing, the command
line and the JSON line of bench/peers/SCHEMA.md."""

import argparse
import json
import statistics
import sys
import time

HEADLINE = dict(samples=4096, timesteps=20, units=50, batch=32, epochs=6)
GRID = [(20, 50, 32), (100, 50, 32), (20, 256, 32), (100, 256, 32), (20, 50, 1), (20, 50, 256)]
GRID_SAMPLES, GRID_EPOCHS = 1024, 4
SEED = 42


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def parse_args(description, threads_help, variants=False):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--threads", type=int, default=1, help=threads_help)
    p.add_argument("--grid", action="store_true", help="also run the grid")
    if variants:
        p.add_argument("--variants", action="store_true",
                       help="also time the headline workload with other model shapes")
    return p.parse_args()


def time_us(warmup, calls, f):
    """Median microseconds of `calls` runs of `f` after `warmup` runs."""
    for _ in range(warmup):
        f()
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        f()
        samples.append((time.perf_counter_ns() - start) / 1e3)
    return statistics.median(samples)


def train_headline(train):
    """`train(samples, timesteps, units, batch, epochs)` on the headline sizes."""
    h = HEADLINE
    log(f"training the seed workload (N = {h['samples']}, {h['epochs']} epochs)")
    return train(h["samples"], h["timesteps"], h["units"], h["batch"], h["epochs"])


def emit(out, grid, train):
    """Adds the grid to `out` when asked (`train` returns seconds first), prints the line."""
    if grid:
        points = []
        for t, units, batch in GRID:
            log(f"grid: T = {t}, H = {units}, batch = {batch}")
            seconds = train(GRID_SAMPLES, t, units, batch, GRID_EPOCHS)[0]
            points.append({"timesteps": t, "units": units, "batch": batch,
                           "samples": GRID_SAMPLES, "train_s_per_epoch": seconds})
        out["grid"] = points
    print(json.dumps(out), flush=True)


# --- The variable-length and long-sequence workloads (SCHEMA.md) -----------------------

LENGTHS = dict(batch=32, epochs=6)
TOKENS = dict(samples=1024, timesteps=200, vocab=20000, dim=64, units=64)
LONG = dict(samples=256, timesteps=1000, features=8, units=64)

_MASK64 = (1 << 64) - 1


class SplitMix:
    """splitmix64, the data generator of bench/peers/rust/lengths_bench (same numbers)."""

    def __init__(self, seed):
        self.state = seed & _MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        return z ^ (z >> 31)

    def between(self, lo, hi):
        """Uniform in lo..=hi."""
        return lo + self.next() % (hi - lo + 1)


def token_data():
    """The masked-token data as lists: ids [N][T] right-padded with 0, classes [N], lengths [N].
    Per sample in order: its length uniform in [T/10, T], then that many ids uniform in
    1..vocab; the class is 1 when the last valid id is below vocab / 2."""
    n, steps, vocab = TOKENS["samples"], TOKENS["timesteps"], TOKENS["vocab"]
    rng = SplitMix(SEED)
    x, y, lengths = [], [], []
    for _ in range(n):
        length = rng.between(steps // 10, steps)
        ids = [rng.between(1, vocab - 1) for _ in range(length)]
        x.append(ids + [0] * (steps - length))
        y.append(1 if ids[-1] < vocab // 2 else 0)
        lengths.append(length)
    return x, y, lengths
