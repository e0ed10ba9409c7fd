/* Footprint of the no_std inference path (tests/nostd), linked the way firmware links
 * it: a C program that calls entry points of librnn_nostd_staticlib.a through its
 * header (tests/nostd/include/rnn_nostd.h), with unused sections dropped.
 *
 * Built several ways by nostd_footprint.sh. With -DBASELINE the calls go to stubs, so
 * that the size difference of -DONLY_SEED / -DONLY_SEED_INT8 / -DONLY_GRU /
 * -DONLY_GESTURE / -DONLY_BI is what one model costs. With
 * -DCHECK it calls every entry point and checks each stack high-water mark against the
 * model's generated STACK_BYTES and the header's constants against the library's;
 * it exits 1 if one does not hold. The stack is measured by painting the stack below
 * the caller and finding the deepest byte the call overwrote. */
#include <stdio.h>
#include <string.h>

#include "rnn_nostd.h"

#define PAINT 0xA5
#define DEPTH (256 * 1024)

#if defined(ONLY_SEED)
#define seed_predict rnn_seed_predict
#elif defined(ONLY_SEED_INT8)
/* The seed model quantised to int8, measured in the seed model's place. */
#define seed_predict rnn_seed_int8_predict
#define SEED_LABEL "seed_int8"
#else
static float seed_predict(const float *x) { return x[0]; }
#endif
#ifndef SEED_LABEL
#define SEED_LABEL "seed"
#endif
#if defined(ONLY_GRU)
#define gru_push rnn_gru_push
#else
static void gru_push(float *h, const float *x, float *out) { out[0] = out[1] = h[0] + x[0]; }
#endif
#if defined(ONLY_GESTURE)
#define gesture_predict rnn_gesture_predict
#else
static void gesture_predict(const float *x, float *out) { out[0] = out[1] = out[2] = out[3] = x[0]; }
#endif
#if defined(ONLY_BI)
#define bi_predict rnn_bi_predict
#else
static void bi_predict(const float *x, float *out) { out[0] = out[1] = out[2] = x[0]; }
#endif

static inline char *stack_pointer(void) {
    char *sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    return sp;
}

/* Paints DEPTH bytes below the current stack pointer (built with -mno-red-zone, so
 * nothing lives there), runs `call`, returns how many bytes below the pointer it used. */
#define STACK_USED(call, used)                                              \
    do {                                                                    \
        volatile char *top = stack_pointer();                               \
        volatile char *p;                                                   \
        for (p = top - DEPTH; p < top; p++) *p = (char)PAINT;               \
        call;                                                               \
        for (p = top - DEPTH; p < top && *p == (char)PAINT; p++) {}         \
        used = (long)(top - p);                                             \
    } while (0)

#ifdef CHECK
static int failures = 0;

static void check_stack(const char *what, long used, size_t bound) {
    int ok = used <= (long)bound;
    printf("%s stack %ld B, STACK_BYTES %zu B: %s\n", what, used, bound, ok ? "ok" : "ABOVE");
    failures += !ok;
}

static void check_equal(const char *what, size_t header, size_t library) {
    int ok = header == library;
    printf("%s: header %zu, library %zu: %s\n", what, header, library, ok ? "ok" : "DIFFERENT");
    failures += !ok;
}

int main(void) {
    float x[RNN_SEED_TIMESTEPS * RNN_SEED_FEATURES], h[RNN_GRU_STATE] = {0};
    float step[RNN_GRU_FEATURES], out[RNN_GRU_OUTPUTS];
    float seq[RNN_GRU_TIMESTEPS * RNN_GRU_FEATURES], seq_out[RNN_GRU_TIMESTEPS * RNN_GRU_OUTPUTS];
    float y = 0.0f;
    long used;
    for (int t = 0; t < RNN_SEED_TIMESTEPS; t++) x[t] = (float)t * 0.1f;
    for (int f = 0; f < RNN_GRU_FEATURES; f++) step[f] = 0.5f * (float)f;
    for (int k = 0; k < RNN_GRU_TIMESTEPS * RNN_GRU_FEATURES; k++) seq[k] = 0.1f * (float)k;
    STACK_USED(y = rnn_seed_predict(x), used);
    check_stack("seed predict_one", used, RNN_SEED_STACK_BYTES);
    /* The int8 twin holds the same arrays as its f32 model, and is held to its bound. */
    STACK_USED(y = rnn_seed_int8_predict(x), used);
    check_stack("seed int8 predict_one", used, RNN_SEED_STACK_BYTES);
    STACK_USED(rnn_gru_push(h, step, out), used);
    check_stack("gru push", used, RNN_GRU_STACK_BYTES);
    STACK_USED(rnn_gru_predict(seq, seq_out), used);
    check_stack("gru predict_one", used, RNN_GRU_STACK_BYTES);
    {
        float g[RNN_GESTURE_TIMESTEPS * RNN_GESTURE_FEATURES], probs[RNN_GESTURE_CLASSES];
        for (int k = 0; k < RNN_GESTURE_TIMESTEPS * RNN_GESTURE_FEATURES; k++) g[k] = 0.05f * (float)(k % 17);
        STACK_USED(rnn_gesture_predict(g, probs), used);
        check_stack("gesture predict_one", used, RNN_GESTURE_STACK_BYTES);
    }
    {
        float b[10 * 2], three[3];
        for (int k = 0; k < 10 * 2; k++) b[k] = 0.3f * (float)(k % 7) - 0.8f;
        STACK_USED(rnn_bi_predict(b, three), used);
        check_stack("bidirectional predict_one", used, RNN_BI_STACK_BYTES);
    }
    check_equal("RNN_GRU_STATE", RNN_GRU_STATE, RNN_GRU_STATE_LEN);
    check_equal("RNN_GRU_STATE floats", RNN_GRU_STATE * sizeof(float), RNN_GRU_STATE_BYTES);
    printf("outputs %g %g %g %g\n", (double)y, (double)out[0], (double)out[1], (double)seq_out[15]);
    return failures ? 1 : 0;
}
#else
int main(void) {
    float x[20], h[16] = {0}, step[3], out[2], y = 0.0f, g[32 * 3], probs[4], b[10 * 2], three[3];
    long seed_stack, gru_stack, gesture_stack, bi_stack;
    for (int t = 0; t < 20; t++) x[t] = (float)t * 0.1f;
    for (int f = 0; f < 3; f++) step[f] = 0.5f * (float)f;
    for (int k = 0; k < 32 * 3; k++) g[k] = 0.05f * (float)(k % 17);
    STACK_USED(y = seed_predict(x), seed_stack);
    STACK_USED(gru_push(h, step, out), gru_stack);
    STACK_USED(gesture_predict(g, probs), gesture_stack);
    for (int k = 0; k < 10 * 2; k++) b[k] = 0.3f * (float)(k % 7) - 0.8f;
    STACK_USED(bi_predict(b, three), bi_stack);
    printf(SEED_LABEL "_stack_bytes %ld\n", seed_stack);
    printf("gru_stack_bytes %ld\n", gru_stack);
    printf("gesture_stack_bytes %ld\n", gesture_stack);
    printf("bi_stack_bytes %ld\n", bi_stack);
    printf("outputs %g %g %g %g\n", (double)y, (double)out[0], (double)out[1], (double)probs[0] + (double)three[0]);
    return 0;
}
#endif
