/*
 * overhead.c: what calling rnnrt through C costs on top of calling RnnSession directly from C#.
 * native.sh overhead runs this next to bench/ManagedStep (the same loops in C#, NativeAOT-compiled for
 * the same x86-64-v3 target as librnnrt_v3.so) on the same model, a GRU with input 64, hidden 64,
 * batch 1, and prints the difference.
 *
 *   overhead --write-model PATH [H [I]]  writes a GRU, hidden H, input I (default 64, 64; weights U(-k, k),
 *                                 k = 1.5/sqrt(H), fixed seed)
 *   overhead PATH                 times rnnrt_session_step and rnnrt_session_get_state:
 *                                 best of 9 runs of 20000 calls each, ns per call
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rnnrt.h"

enum { RUNS = 9, CALLS = 20000 };
static int I = 64, H = 64;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int write_model(const char* path) {
    static const char* names[] = { "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0" };
    const int rows = 3 * H, cols[] = { I, H, 0, 0 };
    char header[1024];
    size_t h = 0, offset = 0;
    h += (size_t)snprintf(header + h, sizeof header - h, "{");
    for (int i = 0; i < 4; i++) {
        size_t n = (size_t)rows * (size_t)(cols[i] ? cols[i] : 1);
        if (cols[i]) h += (size_t)snprintf(header + h, sizeof header - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}", i ? "," : "", names[i], rows, cols[i], offset, offset + 4 * n);
        else h += (size_t)snprintf(header + h, sizeof header - h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}", names[i], rows, offset, offset + 4 * n);
        offset += 4 * n;
    }
    h += (size_t)snprintf(header + h, sizeof header - h, "}");
    while (h % 8) header[h++] = ' ';
    FILE* f = fopen(path, "wb");
    if (!f) { perror(path); return 1; }
    uint64_t len = h;
    fwrite(&len, 8, 1, f); /* little-endian host */
    fwrite(header, 1, h, f);
    uint64_t s = 42;
    const float k = 1.5f / sqrtf((float)H);
    for (size_t i = 0; i < offset / 4; i++) {
        s ^= s << 13; s ^= s >> 7; s ^= s << 17;
        float v = (float)((double)(s >> 11) / 9007199254740992.0 * 2.0 - 1.0) * k;
        fwrite(&v, 4, 1, f);
    }
    fclose(f);
    return 0;
}

typedef rnnrt_status (*step_fn)(rnnrt_session*, const float*, size_t, float*, size_t);
typedef rnnrt_status (*state_fn)(const rnnrt_session*, float*, size_t);

/* Best and median ns per call over RUNS runs of CALLS calls. */
static void time_step(step_fn step, rnnrt_session* s, const float* x, float* y, double* best, double* median) {
    double r[RUNS];
    for (int i = 0; i < CALLS; i++) step(s, x, I, y, H); /* warm-up */
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ns();
        for (int i = 0; i < CALLS; i++) step(s, x, I, y, H);
        r[run] = (now_ns() - t0) / CALLS;
    }
    for (int i = 0; i < RUNS; i++) for (int j = i + 1; j < RUNS; j++) if (r[j] < r[i]) { double t = r[i]; r[i] = r[j]; r[j] = t; }
    *best = r[0];
    *median = r[RUNS / 2];
}

static void time_state(state_fn get, rnnrt_session* s, float* h, double* best, double* median) {
    double r[RUNS];
    for (int i = 0; i < CALLS; i++) get(s, h, H);
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_ns();
        for (int i = 0; i < CALLS; i++) get(s, h, H);
        r[run] = (now_ns() - t0) / CALLS;
    }
    for (int i = 0; i < RUNS; i++) for (int j = i + 1; j < RUNS; j++) if (r[j] < r[i]) { double t = r[i]; r[i] = r[j]; r[j] = t; }
    *best = r[0];
    *median = r[RUNS / 2];
}

int main(int argc, char** argv) {
    if (argc >= 3 && strcmp(argv[1], "--write-model") == 0) {
        if (argc > 3) H = atoi(argv[3]);
        if (argc > 4) I = atoi(argv[4]);
        return H > 0 && H <= 1024 && I > 0 && I <= 1024 ? write_model(argv[2]) : 2;
    }
    if (argc != 2) { fprintf(stderr, "usage: overhead --write-model PATH [H [I]] | overhead PATH\n"); return 2; }

    rnnrt_model* m = NULL;
    rnnrt_session* s = NULL;
    if (rnnrt_model_load(argv[1], NULL, &m) != RNNRT_OK || rnnrt_session_create(m, 1, &s) != RNNRT_OK) {
        fprintf(stderr, "overhead: %s\n", rnnrt_last_error());
        return 1;
    }
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    rnnrt_model_info(m, &info);
    I = info.input_size;
    H = info.hidden_size;
    if (I > 1024 || H > 1024 || info.num_directions != 1 || info.cell != RNNRT_CELL_GRU || info.num_layers != 1) {
        fprintf(stderr, "overhead: expects a one-layer unidirectional GRU with input and hidden <= 1024\n");
        return 1;
    }
    float x[1024], y[1024], h[1024];
    for (int i = 0; i < I; i++) x[i] = (float)sin(i * 0.37);

    double best, median, sbest, smedian;
    time_step(rnnrt_session_step, s, x, y, &best, &median);
    time_state(rnnrt_session_get_state, s, h, &sbest, &smedian);
    printf("c_ns_per_step %.1f (through librnnrt.so; best of %d runs of %d steps, median %.1f; GRU input %d hidden %d on %s)\n", best, RUNS, CALLS, median, I, H, info.backend);
    printf("c_ns_per_get_state %.1f (median %.1f)\n", sbest, smedian);

    /* The loader's share: the same calls straight into librnnrt_v3.so, without the forwarding stub. */
    Dl_info self;
    if (dladdr((void*)&rnnrt_version, &self) && self.dli_fname) {
        char path[4096];
        snprintf(path, sizeof path, "%s", self.dli_fname);
        char* slash = strrchr(path, '/');
        if (slash) {
            snprintf(slash + 1, sizeof path - (size_t)(slash + 1 - path), "librnnrt_v3.so");
            void* lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
            if (lib) {
                step_fn direct_step;
                state_fn direct_state;
                *(void**)&direct_step = dlsym(lib, "rnnrt_session_step");
                *(void**)&direct_state = dlsym(lib, "rnnrt_session_get_state");
                if (direct_step && direct_state) {
                    double dbest, dmedian;
                    time_step(direct_step, s, x, y, &dbest, &dmedian);
                    printf("c_direct_ns_per_step %.1f (librnnrt_v3.so without the loader; median %.1f)\n", dbest, dmedian);
                    time_state(direct_state, s, h, &dbest, &dmedian);
                    printf("c_direct_ns_per_get_state %.1f (median %.1f)\n", dbest, dmedian);
                }
            }
        }
    }
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    return 0;
}
