/*
 * stream.c: feed a model one frame at a time, the way an audio callback or a sensor loop would, and
 * print the latency of each step.
 *
 *   cc -O2 -I artifacts/native/include stream.c -L artifacts/native -lrnnrt -Wl,-rpath,artifacts/native -o stream
 *   ./stream [model.safetensors] [steps]      (default: Runtime.Bench/Models/gru_i64_h256.safetensors, 3000)
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "rnnrt.h"

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static int by_value(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

/* One line per layer, each with its own widths (a recurrent module's input is the layer before it, not x). */
static void print_layers(const rnnrt_model* model, int count) {
    static const char* const kinds[] = { "?", "linear", "recurrent", "tanh", "relu", "sigmoid", "add_input" };
    for (int i = 0; i < count; i++) {
        struct rnnrt_layer_info l;
        l.struct_size = sizeof l;
        if (rnnrt_model_layer_info(model, i, &l) != RNNRT_OK) {
            fprintf(stderr, "stream: %s\n", rnnrt_last_error());
            return;
        }
        if (l.kind == RNNRT_LAYER_RECURRENT)
            printf("    %s '%s' input %d hidden %d layers %d%s\n",
                   l.cell == RNNRT_CELL_GRU ? "gru" : l.cell == RNNRT_CELL_LSTM ? "lstm" : "rnn", l.name, l.input_size, l.hidden_size,
                   l.num_layers, l.num_directions == 2 ? " bidirectional" : "");
        else
            printf("    %s%s%s%s %d -> %d\n", l.kind > 0 && l.kind <= RNNRT_LAYER_ADD_INPUT ? kinds[l.kind] : kinds[0],
                   l.kind == RNNRT_LAYER_LINEAR ? " '" : "", l.kind == RNNRT_LAYER_LINEAR ? l.name : "", l.kind == RNNRT_LAYER_LINEAR ? "'" : "",
                   l.input_size, l.output_size);
    }
}

int main(int argc, char** argv) {
    const char* path = argc > 1 ? argv[1] : "Runtime.Bench/Models/gru_i64_h256.safetensors";
    const int steps = argc > 2 ? atoi(argv[2]) : 3000;
    if (steps < 1) { fprintf(stderr, "steps must be positive\n"); return 2; }

    rnnrt_model* model = NULL;
    if (rnnrt_model_load(path, NULL, &model) != RNNRT_OK) {
        fprintf(stderr, "stream: %s\n", rnnrt_last_error());
        return 1;
    }
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    rnnrt_model_info(model, &info);
    if (info.num_directions != 1) {
        fprintf(stderr, "stream: %s is bidirectional; streaming needs a unidirectional model\n", path);
        rnnrt_model_free(model);
        return 1;
    }

    rnnrt_session* session = NULL;
    if (rnnrt_session_create(model, 1, &session) != RNNRT_OK) {
        fprintf(stderr, "stream: %s\n", rnnrt_last_error());
        rnnrt_model_free(model);
        return 1;
    }

    const size_t in = (size_t)info.input_size, out = (size_t)info.output_size;
    float* xs = malloc(sizeof(float) * in * (size_t)steps);
    float* y = malloc(sizeof(float) * out);
    double* micros = malloc(sizeof(double) * (size_t)steps);
    unsigned seed = 1234;
    for (size_t i = 0; i < in * (size_t)steps; i++) {
        seed = seed * 1664525u + 1013904223u;
        xs[i] = (float)(seed >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
    }

    int status = 0;
    /* Warm up (caches, lazily initialised runtime), then stream from a zero state. */
    for (int t = 0; t < steps && t < 200; t++) rnnrt_session_step(session, xs + (size_t)t * in, in, y, out);
    rnnrt_session_reset(session);
    double checksum = 0;
    for (int t = 0; t < steps; t++) {
        double start = now_us();
        rnnrt_status st = rnnrt_session_step(session, xs + (size_t)t * in, in, y, out);
        micros[t] = now_us() - start;
        if (st != RNNRT_OK) {
            fprintf(stderr, "stream: step %d: %s\n", t, rnnrt_last_error());
            status = 1;
            break;
        }
        checksum += y[0];
    }
    if (status == 0) {
        double total = 0;
        for (int t = 0; t < steps; t++) total += micros[t];
        qsort(micros, (size_t)steps, sizeof(double), by_value);
        unsigned v = rnnrt_version();
        printf("librnnrt %u.%u.%u, model %s\n", v >> 16, (v >> 8) & 0xff, v & 0xff, path);
        printf("  network: %d layer(s), input %d, output %d, on backend %s\n", info.layer_count, info.input_size, info.output_size, info.backend);
        print_layers(model, info.layer_count);
        printf("  %d steps, batch 1: p50 %.2f us, p99 %.2f us, mean %.2f us per step (y[0] sum %.6f)\n",
               steps, micros[steps / 2], micros[(int)(steps * 0.99)], total / steps, checksum);
    }

    free(xs);
    free(y);
    free(micros);
    rnnrt_session_free(session);
    rnnrt_model_free(model);
    return status;
}
