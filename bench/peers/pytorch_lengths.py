#!/usr/bin/env python3
"""The variable-length and long-sequence workloads in idiomatic PyTorch; prints one JSON
line (bench/peers/SCHEMA.md, "Variable lengths and long sequences").

    python3 bench/peers/pytorch_lengths.py [--threads N]

Masked tokens: the ids of common.token_data() (the same arrays lengths_bench trains on),
nn.Embedding(20000, 64, padding_idx=0) -> pack_padded_sequence(..., batch_first=True,
enforce_sorted=False) -> nn.LSTM(64, 64) -> nn.Linear(64, 2) on the last valid step's
hidden state (h_n of the packed run), nn.CrossEntropyLoss (softmax + negative
log-likelihood, rnn's softmax + sparse categorical cross-entropy). Also, on the same
data, the same modules without packing (every padded step computed, h_n of step T).
Long sequences: nn.LSTM(8, 64, batch_first=True) -> nn.Linear(64, 1), nn.MSELoss.
Both: torch.optim.Adam(lr=1e-3), batch 32, float32, the training loop of
pytorch_bench.py (a torch.randperm per epoch, batches by advanced indexing).

Logs go to stderr; stdout gets the JSON line only.
"""

import argparse
import json
import math
import statistics
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from common import LENGTHS, LONG, SEED, TOKENS, log, token_data


class TokenNet(nn.Module):
    def __init__(self, packed):
        super().__init__()
        self.packed = packed
        self.embedding = nn.Embedding(TOKENS["vocab"], TOKENS["dim"], padding_idx=0)
        self.lstm = nn.LSTM(TOKENS["dim"], TOKENS["units"], batch_first=True)
        self.fc = nn.Linear(TOKENS["units"], 2)

    def forward(self, x, lengths):
        e = self.embedding(x)
        if self.packed:
            e = pack_padded_sequence(e, lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(e)  # h: [1, batch, units], each sample's last valid step
        return self.fc(h[-1])


class LongNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(LONG["features"], LONG["units"], batch_first=True)
        self.fc = nn.Linear(LONG["units"], 1)

    def forward(self, x, _lengths):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


def train(name, model, loss_fn, x, y, lengths=None):
    """Trains `model`; returns (median seconds of epochs 2..=last, last epoch's mean loss)."""
    samples, batch, epochs = x.shape[0], LENGTHS["batch"], LENGTHS["epochs"]
    log(f"{name}: {epochs} epochs")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    seconds, last_loss = [], float("nan")
    for epoch in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(samples)
        total = torch.zeros(())
        for i in range(0, samples, batch):
            idx = perm[i : i + batch]
            lb = lengths[idx] if lengths is not None else None
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x[idx], lb), y[idx])
            loss.backward()
            opt.step()
            total += loss.detach() * idx.numel()
        last_loss = total.item() / samples
        seconds.append(time.perf_counter() - start)
        log(f"  epoch {epoch + 1}/{epochs}: {seconds[-1]:.4f} s, loss {last_loss:.3e}")
    return statistics.median(seconds[1:]), last_loss


def long_data():
    """x[i, t, f] = sin(0.05 (t + 3 i) + f), y[i] = sin(0.05 (T + 3 i)); f64, stored f32."""
    n, steps, features = LONG["samples"], LONG["timesteps"], LONG["features"]
    t = torch.arange(steps, dtype=torch.float64).view(1, steps, 1)
    i = torch.arange(n, dtype=torch.float64).view(n, 1, 1)
    f = torch.arange(features, dtype=torch.float64).view(1, 1, features)
    x = torch.sin(0.05 * (t + 3 * i) + f).to(torch.float32)
    y = torch.sin(0.05 * (steps + 3 * i.view(n, 1))).to(torch.float32)
    return x, y


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="torch intra-op (and inter-op) threads")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError as e:
        log(f"set_num_interop_threads: {e}")
    log(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}")

    ids, classes, lens = token_data()
    x = torch.tensor(ids, dtype=torch.int64)
    y = torch.tensor(classes, dtype=torch.int64)
    lengths = torch.tensor(lens, dtype=torch.int64)  # on the CPU, as pack_padded_sequence wants
    valid = int(lengths.sum())
    valid_fraction = valid / (TOKENS["samples"] * TOKENS["timesteps"])
    log(f"masked tokens: valid fraction {valid_fraction:.4f}")

    torch.manual_seed(SEED)
    packed_s, packed_loss = train("masked tokens, packed", TokenNet(True),
                                  nn.CrossEntropyLoss(), x, y, lengths)
    torch.manual_seed(SEED)
    padded_s, padded_loss = train("masked tokens, every padded step", TokenNet(False),
                                  nn.CrossEntropyLoss(), x, y, lengths)

    lx, ly = long_data()
    torch.manual_seed(SEED)
    long_s, long_loss = train("long sequences", LongNet(), nn.MSELoss(), lx, ly)

    out = {
        "system": "pytorch",
        "version": torch.__version__,
        "threads": args.threads,
        "masked_tokens": {
            **TOKENS, "batch": LENGTHS["batch"], "epochs": LENGTHS["epochs"],
            "valid_steps": valid, "valid_fraction": valid_fraction,
            "train_s_per_epoch": packed_s, "final_loss": packed_loss,
            "padded_s_per_epoch": padded_s, "padded_final_loss": padded_loss,
        },
        "long_sequences": {
            **LONG, "batch": LENGTHS["batch"], "epochs": LENGTHS["epochs"],
            "train_s_per_epoch": long_s, "final_loss": long_loss,
        },
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
