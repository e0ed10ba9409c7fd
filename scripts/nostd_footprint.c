/* Footprint of the no_std inference path (tests/nostd), linked the way firmware links
 * it: a C program that calls one entry point of librnn_nostd_staticlib.a, with unused
 * sections dropped. Built twice by nostd_footprint.sh: with -DBASELINE the calls go to
 * a stub instead, so that the size difference is what the model costs. Run, it prints
 * the stack high-water mark of each call, measured by painting the stack below the
 * caller and finding the deepest byte the call overwrote. */
#include <stdio.h>
#include <string.h>

#define PAINT 0xA5
#define DEPTH (256 * 1024)

/* Each model is measured in a program of its own (-DONLY_SEED, -DONLY_SEED_INT8,
 * -DONLY_GRU), so that
 * it keeps only its own code and weights; the other call goes to a stub. */
#if defined(BASELINE) || defined(ONLY_GRU)
static float seed_predict(const float *x) { return x[0]; }
#elif defined(ONLY_SEED_INT8)
/* The seed model quantised to int8 (-DONLY_SEED_INT8), in the seed model's place. */
float rnn_seed_int8_predict(const float *x);
#define seed_predict rnn_seed_int8_predict
#define SEED_LABEL "seed_int8"
#else
float rnn_seed_predict(const float *x);
#define seed_predict rnn_seed_predict
#endif
#ifndef SEED_LABEL
#define SEED_LABEL "seed"
#endif
#if defined(BASELINE) || defined(ONLY_SEED) || defined(ONLY_SEED_INT8)
static void gru_push(float *h, const float *x, float *out) { out[0] = out[1] = h[0] + x[0]; }
#else
void rnn_gru_push(float *h, const float *x, float *out);
#define gru_push rnn_gru_push
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

int main(void) {
    float x[20], h[16] = {0}, step[3], out[2], y = 0.0f;
    long seed_stack, gru_stack;
    for (int t = 0; t < 20; t++) x[t] = (float)t * 0.1f;
    for (int f = 0; f < 3; f++) step[f] = 0.5f * (float)f;
    STACK_USED(y = seed_predict(x), seed_stack);
    STACK_USED(gru_push(h, step, out), gru_stack);
    printf(SEED_LABEL "_stack_bytes %ld\n", seed_stack);
    printf("gru_stack_bytes %ld\n", gru_stack);
    printf("outputs %g %g %g\n", (double)y, (double)out[0], (double)out[1]);
    return 0;
}
