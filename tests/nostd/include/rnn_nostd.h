/* C interface of tests/nostd (librnn_nostd_staticlib.a): the seed model (f32 and
 * int8), a streaming GRU, a gesture classifier and a bidirectional model, compiled
 * without std or an allocator, their weights in flash.
 *
 * Written by hand to match tests/nostd/src/lib.rs; scripts/nostd_footprint.sh builds
 * its C program through this header and checks the constants below against the ones
 * the library exports, so a drift fails CI. Arrays are passed as pointers to their
 * first element, row-major ([step][feature]). No function allocates, blocks or fails:
 * every shape is fixed at compile time. */
#ifndef RNN_NOSTD_H
#define RNN_NOSTD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The seed model, input(20, 1), lstm(50), dense(1). */
#define RNN_SEED_TIMESTEPS 20
#define RNN_SEED_FEATURES 1

/* The streaming GRU, input(8, 3), gru(16, return_sequences = true), dense(2, tanh). */
#define RNN_GRU_TIMESTEPS 8
#define RNN_GRU_FEATURES 3
#define RNN_GRU_OUTPUTS 2
/* Floats of hidden state a caller keeps between rnn_gru_push calls (zeros to start). */
#define RNN_GRU_STATE 16

/* The gesture classifier, input(32, 3), gru(16), dense(4, softmax). */
#define RNN_GESTURE_TIMESTEPS 32
#define RNN_GESTURE_FEATURES 3
#define RNN_GESTURE_CLASSES 4

/* The seed model's prediction for x[RNN_SEED_TIMESTEPS][RNN_SEED_FEATURES]. */
float rnn_seed_predict(const float *x);

/* One step of the GRU: reads and updates h[RNN_GRU_STATE], reads x[RNN_GRU_FEATURES],
 * writes out[RNN_GRU_OUTPUTS]. */
void rnn_gru_push(float *h, const float *x, float *out);

/* The GRU over x[RNN_GRU_TIMESTEPS][RNN_GRU_FEATURES] from the zero state, writing
 * out[RNN_GRU_TIMESTEPS][RNN_GRU_OUTPUTS]. */
void rnn_gru_predict(const float *x, float *out);

/* The seed model quantised to int8 (SeedNetInt8): the prediction for
 * x[RNN_SEED_TIMESTEPS][RNN_SEED_FEATURES]. */
float rnn_seed_int8_predict(const float *x);

/* The gesture classifier's class probabilities for
 * x[RNN_GESTURE_TIMESTEPS][RNN_GESTURE_FEATURES], written to out[RNN_GESTURE_CLASSES]. */
void rnn_gesture_predict(const float *x, float *out);

/* input(10, 2), bidirectional(lstm(8, return_sequences = true)), gru(6), dense(3):
 * out[3] for x[10][2]. */
void rnn_bi_predict(const float *x, float *out);

/* The models' generated cost constants (SeedNet::STACK_BYTES, ...), exported so that
 * firmware can size its stacks and RAM from the library it links. */
extern const size_t RNN_SEED_STACK_BYTES;
extern const size_t RNN_GRU_STACK_BYTES;
extern const size_t RNN_GESTURE_STACK_BYTES;
extern const size_t RNN_BI_STACK_BYTES;
extern const size_t RNN_GRU_STATE_BYTES;
extern const size_t RNN_GRU_STATE_LEN;

#ifdef __cplusplus
}
#endif

#endif
