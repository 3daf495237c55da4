/*
 * soak.c: many steps through one session of librnnrt, with the process's RSS (/proc/self/statm) and
 * steps/s over the last interval reported at 20 points: flat over 10^8 steps means nothing leaks or
 * drifts per call on the C path (handle lookup, busy flag, the loader stub, the NativeAOT runtime).
 *
 *   soak MODEL [STEPS]    default 10^8 steps; the model's input and output widths come from rnnrt_model_info
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "rnnrt.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static long rss_kib(void) {
    long pages = 0, resident = 0;
    FILE* f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char** argv) {
    if (argc < 2) { fprintf(stderr, "usage: soak MODEL [STEPS]\n"); return 2; }
    long long steps = argc > 2 ? atoll(argv[2]) : 100000000LL;
    if (steps < 20) { fprintf(stderr, "soak: STEPS must be at least 20\n"); return 2; }
    rnnrt_model* m = NULL;
    rnnrt_session* s = NULL;
    if (rnnrt_model_load(argv[1], NULL, &m) != RNNRT_OK || rnnrt_session_create(m, 1, &s) != RNNRT_OK) {
        fprintf(stderr, "soak: %s\n", rnnrt_last_error());
        return 1;
    }
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    rnnrt_model_info(m, &info);
    float* x = calloc((size_t)info.input_size, sizeof(float));
    float* y = calloc((size_t)info.output_size, sizeof(float));
    for (int i = 0; i < info.input_size; i++) x[i] = (float)((i * 37 % 17) - 8) / 8.0f;
    printf("soak (C): %lld steps of %s (input %d, output %d, %s) through rnnrt_session_step\n", steps, argv[1], info.input_size, info.output_size, info.backend);
    printf("  done %%   steps             steps/s     RSS MiB\n");
    long long interval = steps / 20, done = 0;
    long rss[21];
    double rate[21], t0 = now_s();
    for (int p = 1; p <= 20; p++) {
        long long end = p == 20 ? steps : p * interval;
        double start = now_s();
        long long first = done;
        for (; done < end; done++) {
            if (rnnrt_session_step(s, x, (size_t)info.input_size, y, (size_t)info.output_size) != RNNRT_OK) {
                fprintf(stderr, "soak: step %lld: %s\n", done, rnnrt_last_error());
                return 1;
            }
            x[0] = y[0]; /* the output fed back: the state keeps moving */
        }
        rate[p] = (double)(end - first) / (now_s() - start);
        rss[p] = rss_kib();
        printf("  %5d   %15lld   %13.0f   %7ld\n", p * 5, done, rate[p], rss[p] / 1024);
        fflush(stdout);
    }
    long lo = rss[2], hi = rss[2];
    for (int p = 2; p <= 20; p++) { if (rss[p] < lo) lo = rss[p]; if (rss[p] > hi) hi = rss[p]; }
    double first3 = (rate[2] + rate[3] + rate[4]) / 3;
    int flat = hi - lo < 4096;
    printf("soak (C): %.0f s; RSS moved %ld KiB after the first 5%%; last / first steps/s %.2f; y[0] = %f: %s\n",
           now_s() - t0, hi - lo, rate[20] / first3, y[0], flat ? "flat" : "NOT FLAT");
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free(x);
    free(y);
    return flat ? 0 : 1;
}
