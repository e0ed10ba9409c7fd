#!/usr/bin/env python3
"""The seed workload in idiomatic PyTorch; prints one JSON line (bench/peers/SCHEMA.md).

    python3 bench/peers/pytorch_bench.py [--threads N] [--grid] [--variants]

Model: nn.LSTM(1, H, batch_first=True) -> nn.Linear(H, 1) on the last hidden state,
torch.optim.Adam(lr=1e-3) with its defaults (betas 0.9, 0.999; eps 1e-8), nn.MSELoss,
float32, PyTorch's default initialisation.

Training loop (chosen for being both idiomatic and fast): the whole data set is
one pair of tensors in memory; each epoch draws `torch.randperm(N)` and walks it in
slices of `batch`, gathering each batch with advanced indexing (`x[idx]`). No
DataLoader: with a TensorDataset and default collation it would build every batch from
`batch` single-sample tensors in Python, which costs more than the LSTM step itself
at these sizes. The last batch of an epoch may be smaller. The epoch loss is summed
in a tensor (`loss.detach() * n`) and read once per epoch, so there is no extra
`.item()` per step.

Logs go to stderr; stdout gets the JSON line only.
"""

import statistics
import time

import torch
from torch import nn

from common import HEADLINE, SEED, emit, log, parse_args, time_us, train_headline

def sine_windows(samples, steps):
    """x[i] = s[i..i+T] as [N, T, 1], y[i] = s[i+T] as [N, 1]; s[t] = sin(0.1 t) (in f64, stored f32)."""
    s = torch.sin(0.1 * torch.arange(samples + steps, dtype=torch.float64)).to(torch.float32)
    x = s.unfold(0, steps, 1)[:samples].unsqueeze(-1).contiguous()
    y = s[steps : steps + samples].unsqueeze(-1).contiguous()
    return x, y


class Net(nn.Module):
    """The seed model, or with `--variants` one of the shapes rnn's seed_bench times:
    gru, simple_rnn (nn.RNN, tanh), bidirectional (h_n of both directions
    concatenated), many_to_many (the dense head on every step), stacked (two LSTM
    layers)."""

    def __init__(self, units, variant="lstm"):
        super().__init__()
        self.variant = variant
        cell = {"gru": nn.GRU, "simple_rnn": nn.RNN}.get(variant, nn.LSTM)
        bidirectional = variant == "bidirectional"
        layers = 2 if variant == "stacked" else 1
        self.rnn = cell(1, units, num_layers=layers, batch_first=True, bidirectional=bidirectional)
        self.fc = nn.Linear(2 * units if bidirectional else units, 1)

    def forward(self, x):
        out, state = self.rnn(x)
        if self.variant == "many_to_many":
            return self.fc(out)  # [batch, T, 1]
        h = state if self.variant in ("gru", "simple_rnn") else state[0]  # [layers * directions, batch, units]
        if self.variant == "bidirectional":
            return self.fc(torch.cat([h[-2], h[-1]], dim=-1))
        return self.fc(h[-1])


def sequence_targets(x, y):
    """The many-to-many target: the series' next value after every step."""
    return torch.cat([x[:, 1:, :], y.unsqueeze(1)], dim=1)


def train(samples, timesteps, units, batch, epochs, variant="lstm"):
    """Trains a fresh model; returns (median seconds of epochs 2..=epochs, last epoch's mean loss, model)."""
    torch.manual_seed(SEED)
    x, y = sine_windows(samples, timesteps)
    if variant == "many_to_many":
        y = sequence_targets(x, y)
    model = Net(units, variant)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    seconds, last_loss = [], float("nan")
    for epoch in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(samples)
        total = torch.zeros(())
        for i in range(0, samples, batch):
            idx = perm[i : i + batch]
            xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.detach() * idx.numel()
        last_loss = total.item() / samples
        seconds.append(time.perf_counter() - start)
        log(f"  epoch {epoch + 1}/{epochs}: {seconds[-1]:.4f} s, loss {last_loss:.3e}")
    return statistics.median(seconds[1:]), last_loss, model



def main():
    args = parse_args(__doc__.splitlines()[0], "torch intra-op (and inter-op) threads",
                      variants=True)

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(args.threads)
    except RuntimeError as e:  # only settable once, before any inter-op work has started
        log(f"set_num_interop_threads: {e}")
    log(f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, "
        f"inter-op threads {torch.get_num_interop_threads()}")

    train_s, final_loss, model = train_headline(train)
    h = HEADLINE

    model.eval()
    x, _ = sine_windows(256, h["timesteps"])
    one = x[:1].clone()
    with torch.no_grad():
        b1 = time_us(50, 1000, lambda: model(one))
        b256 = time_us(10, 200, lambda: model(x))
        # The other cell kinds at the seed's shape (untrained: only the time matters).
        torch.manual_seed(SEED)
        b1_other = {}
        for variant in ["gru", "simple_rnn"]:
            other = Net(h["units"], variant).eval()
            b1_other[variant] = time_us(50, 1000, lambda: other(one))
        # One time step with the state carried, as a stream's push: the LSTM module on
        # one step and its (h, c), then the head. Timed over a window of 20 steps.
        steps = [one[:, t : t + 1, :].clone() for t in range(h["timesteps"])]

        def window():
            state = None
            for xt in steps:
                out, state = model.rnn(xt, state)
                model.fc(out[:, -1])

        push = time_us(50, 1000, window) / h["timesteps"]

    out = {
        "system": "pytorch",
        "version": torch.__version__,
        "threads": args.threads,
        "train_s_per_epoch": train_s,
        "final_loss": final_loss,
        "predict_b1_us": b1,
        "predict_b256_us": b256,
        "predict_b1_gru_us": b1_other["gru"],
        "predict_b1_simple_rnn_us": b1_other["simple_rnn"],
        "stream_push_us": push,
    }
    if args.variants:
        h = HEADLINE
        rows = []
        for variant in ["lstm", "gru", "bidirectional", "many_to_many", "stacked"]:
            log(f"variant: {variant}")
            seconds, loss, _ = train(h["samples"], h["timesteps"], h["units"], h["batch"],
                                     h["epochs"], variant)
            rows.append({"variant": variant, "train_s_per_epoch": seconds, "final_loss": loss})
        out["variants"] = rows
    emit(out, args.grid, train)


if __name__ == "__main__":
    main()
