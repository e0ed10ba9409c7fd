#!/usr/bin/env python3
"""The seed workload as the seed's Keras program; prints one JSON line (bench/peers/SCHEMA.md).

    python3 bench/peers/keras_bench.py [--threads N] [--grid]

Keras 3 on the TensorFlow backend (tensorflow-cpu):
Sequential([Input((T, 1)), LSTM(H), Dense(1)]), compile(optimizer=Adam(1e-3), loss="mse")
(Adam's defaults: betas 0.9, 0.999; eps 1e-7), fit(x, y, epochs, batch_size,
shuffle=True, verbose=0), Keras's default initialisation, float32. A callback times
each epoch. Predictions are timed with a direct call `model(x, training=False)` on a
tensor made once beforehand, the result forced with `.numpy()` (not `model.predict`,
which builds a data pipeline per call).

Logs go to stderr. The JSON also carries the same predictions through tf.function
(`predict_*_us_tf_function`), Keras's fastest way to call a model;
stdout gets the JSON line only.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import statistics
import time

import numpy as np

from common import HEADLINE, SEED, emit, log, parse_args, time_us, train_headline

def sine_windows(samples, steps):
    """x[i] = s[i..i+T] as [N, T, 1], y[i] = s[i+T] as [N, 1]; s[t] = sin(0.1 t) (in f64, stored f32)."""
    s = np.sin(0.1 * np.arange(samples + steps, dtype=np.float64)).astype(np.float32)
    x = np.lib.stride_tricks.sliding_window_view(s, steps)[:samples, :, None].copy()
    y = s[steps : steps + samples, None].copy()
    return x, y


def main():
    args = parse_args(__doc__.splitlines()[0], "TensorFlow intra-op and inter-op threads")

    import tensorflow as tf

    # Must come before TensorFlow creates its thread pools (the first op).
    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)

    import keras
    from keras import layers

    log(f"keras {keras.__version__}, tensorflow {tf.__version__}, backend {keras.backend.backend()}, "
        f"threads intra {tf.config.threading.get_intra_op_parallelism_threads()} "
        f"inter {tf.config.threading.get_inter_op_parallelism_threads()}")

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)
            log(f"  epoch {epoch + 1}: {self.seconds[-1]:.4f} s, loss {logs.get('loss', float('nan')):.3e}")

    def train(samples, timesteps, units, batch, epochs):
        """Trains a fresh model; returns (median seconds of epochs 2..=epochs, last epoch's loss, model)."""
        keras.backend.clear_session()
        keras.utils.set_random_seed(SEED)
        x, y = sine_windows(samples, timesteps)
        model = keras.Sequential([keras.Input((timesteps, 1)), layers.LSTM(units), layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        timer = EpochTimer()
        history = model.fit(x, y, epochs=epochs, batch_size=batch, shuffle=True, verbose=0,
                            callbacks=[timer])
        return statistics.median(timer.seconds[1:]), float(history.history["loss"][-1]), model


    train_s, final_loss, model = train_headline(train)
    h = HEADLINE

    x, _ = sine_windows(256, h["timesteps"])
    one = tf.constant(x[:1])
    many = tf.constant(x)
    b1 = time_us(50, 1000, lambda: model(one, training=False).numpy())
    b256 = time_us(10, 200, lambda: model(many, training=False).numpy())
    # Also the same calls traced once by tf.function, which removes the eager per-op
    # (and per-time-step) overhead of a plain call: reported beside the SCHEMA figures
    # so that the table can show Keras at its best as well.
    traced = tf.function(lambda v: model(v, training=False))
    b1_traced = time_us(50, 1000, lambda: traced(one).numpy())
    b256_traced = time_us(10, 200, lambda: traced(many).numpy())
    log(f"predict, eager model(x): b1 {b1:.1f} µs, b256 {b256:.1f} µs; "
        f"tf.function: b1 {b1_traced:.1f} µs, b256 {b256_traced:.1f} µs")

    out = {
        "system": "keras",
        "version": keras.__version__,
        "threads": args.threads,
        "train_s_per_epoch": train_s,
        "final_loss": final_loss,
        "predict_b1_us": b1,
        "predict_b256_us": b256,
        "predict_b1_us_tf_function": b1_traced,
        "predict_b256_us_tf_function": b256_traced,
    }
    emit(out, args.grid, train)


if __name__ == "__main__":
    main()
