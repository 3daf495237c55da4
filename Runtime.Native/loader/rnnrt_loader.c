/*
 * librnnrt.so: picks the NativeAOT build of rnnrt that matches this CPU and forwards every call to it.
 *
 * Why: NativeAOT compiles for one instruction set, fixed at publish time. A default build has no AVX2
 * at all; an x86-64-v3 build has AVX2 + FMA; only an x86-64-v4 build has AVX-512, and loading that one
 * on a CPU without AVX-512 aborts the whole host process ("The required instruction sets are not
 * supported by the current CPU."). So the v4 build may only be dlopen'ed after the CPU (CPUID) and
 * the OS (XGETBV: the kernel saves zmm/opmask state) have been checked. That check lives here, in
 * plain C that runs on any x86-64.
 *
 * On the first call (pthread_once) this file looks for the builds in its own directory (found with
 * dladdr, so wherever librnnrt.so.X lives, installed or not): librnnrt_v4.so.X.Y.Z / librnnrt_v3.so.X.Y.Z
 * (this version's names, as `native.sh install` puts them beside librnnrt.so.X.Y.Z, so that two
 * installed versions never pick up each other's builds), else librnnrt_v4.so / librnnrt_v3.so (as
 * `native.sh publish` leaves them), dlopens the widest one the machine supports, resolves every function once with dlsym
 * and from then on each export is one indirect call. RNNRT_ISA=v3|v4 overrides the choice (v4 is
 * still refused without AVX-512); RNNRT_LOADER_TRACE=1 prints what was chosen to stderr;
 * RNNRT_LOADER_ASSUME_NO_AVX512=1 makes it act as on a CPU without AVX-512 (for the tests).
 * If nothing loads, every function returns RNNRT_BACKEND_UNAVAILABLE and rnnrt_last_error() says why;
 * rnnrt_version() and rnnrt_status_string() answer here, without a build.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnnrt.h"

#if !defined(__x86_64__)
#error "the rnnrt loader picks between x86-64-v3 and x86-64-v4 builds; on other architectures ship the NativeAOT library as librnnrt.so directly"
#endif

#include <cpuid.h>

/* Each entry has the type of the header's own declaration (__typeof__, GCC and clang), so the table
 * cannot drift from rnnrt.h: a changed signature changes the entry, and the forwarders below, which
 * define the same functions, must match the header or fail to compile. */
#define RNNRT_ENTRY(name) __typeof__(rnnrt_##name)* name
typedef struct rnnrt_api {
    RNNRT_ENTRY(version);
    RNNRT_ENTRY(last_error);
    RNNRT_ENTRY(model_load);
    RNNRT_ENTRY(model_load_memory);
    RNNRT_ENTRY(model_load_ex);
    RNNRT_ENTRY(model_load_memory_ex);
    RNNRT_ENTRY(model_info);
    RNNRT_ENTRY(model_layer_info);
    RNNRT_ENTRY(model_free);
    RNNRT_ENTRY(session_create);
    RNNRT_ENTRY(session_step);
    RNNRT_ENTRY(session_run);
    RNNRT_ENTRY(session_reset);
    RNNRT_ENTRY(session_get_state);
    RNNRT_ENTRY(session_set_state);
    RNNRT_ENTRY(session_step_active);
    RNNRT_ENTRY(session_reset_slot);
    RNNRT_ENTRY(session_get_state_slot);
    RNNRT_ENTRY(session_set_state_slot);
    RNNRT_ENTRY(session_free);
} rnnrt_api;
#undef RNNRT_ENTRY

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static rnnrt_api g_api;
static int g_loaded;
/* Written once inside pthread_once, read-only afterwards: the same message for every thread. */
static char g_error[8192];

static uint64_t read_xcr0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* Which of the NativeAOT builds this CPU and OS can run: 4 (x86-64-v4), 3 (x86-64-v3) or 0. */
static int cpu_level(char* missing, size_t missing_size) {
    unsigned a, b, c, d;
    missing[0] = '\0';
    if (!__get_cpuid(1, &a, &b, &c, &d)) { snprintf(missing, missing_size, "CPUID leaf 1"); return 0; }
    const unsigned c1 = c;
    unsigned b7 = 0;
    if (__get_cpuid_max(0, NULL) >= 7) { __cpuid_count(7, 0, a, b, c, d); b7 = b; }
    unsigned c81 = 0;
    if ((unsigned)__get_cpuid_max(0x80000000u, NULL) >= 0x80000001u) { __cpuid(0x80000001u, a, b, c, d); c81 = c; }

    /* x86-64-v3: AVX, AVX2, BMI1, BMI2, F16C, FMA, LZCNT, MOVBE, and the OS saving ymm state. */
    static const struct { const char* name; int reg; unsigned bit; } v3[] = {
        { "SSE4.2", 1, 20 }, { "POPCNT", 1, 23 }, { "FMA", 1, 12 }, { "MOVBE", 1, 22 }, { "OSXSAVE", 1, 27 },
        { "AVX", 1, 28 }, { "F16C", 1, 29 }, { "BMI1", 7, 3 }, { "AVX2", 7, 5 }, { "BMI2", 7, 8 }, { "LZCNT", 0x81, 5 },
    };
    for (size_t i = 0; i < sizeof v3 / sizeof v3[0]; i++) {
        unsigned reg = v3[i].reg == 1 ? c1 : v3[i].reg == 7 ? b7 : c81;
        if (!(reg & (1u << v3[i].bit))) { snprintf(missing, missing_size, "%s", v3[i].name); return 0; }
    }
    const uint64_t xcr0 = read_xcr0();
    if ((xcr0 & 0x6) != 0x6) { snprintf(missing, missing_size, "OS support for AVX state (XCR0)"); return 0; }

    /* x86-64-v4: AVX-512 F, BW, CD, DQ, VL, and the OS saving opmask and zmm state. */
    static const struct { const char* name; unsigned bit; } v4[] = {
        { "AVX512F", 16 }, { "AVX512DQ", 17 }, { "AVX512CD", 28 }, { "AVX512BW", 30 }, { "AVX512VL", 31 },
    };
    for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
        if (!(b7 & (1u << v4[i].bit))) { snprintf(missing, missing_size, "%s", v4[i].name); return 3; }
    if ((xcr0 & 0xE0) != 0xE0) { snprintf(missing, missing_size, "OS support for AVX-512 state (XCR0)"); return 3; }
    return 4;
}

/* This file's directory, with a trailing '/', or "" if unknown. */
static void own_directory(char* dir, size_t size) {
    Dl_info info;
    dir[0] = '\0';
    if (dladdr((void*)&cpu_level, &info) && info.dli_fname) {
        const char* slash = strrchr(info.dli_fname, '/');
        if (slash && (size_t)(slash - info.dli_fname + 1) < size) {
            memcpy(dir, info.dli_fname, (size_t)(slash - info.dli_fname + 1));
            dir[slash - info.dli_fname + 1] = '\0';
        }
    }
}

static void load(void) {
    char missing[64];
    int level = cpu_level(missing, sizeof missing);
    /* For the tests: behave as on a CPU without AVX-512 (the decision logic, not CPUID, is under test). */
    const char* no512 = getenv("RNNRT_LOADER_ASSUME_NO_AVX512");
    if (level == 4 && no512 && *no512 && strcmp(no512, "0") != 0) {
        level = 3;
        snprintf(missing, sizeof missing, "AVX512F (RNNRT_LOADER_ASSUME_NO_AVX512)");
    }
    const char* forced = getenv("RNNRT_ISA");
    int want = level;
    if (forced && *forced && strcmp(forced, "auto") != 0) {
        if (strcmp(forced, "v3") == 0) want = 3;
        else if (strcmp(forced, "v4") == 0) want = 4;
        else {
            snprintf(g_error, sizeof g_error, "librnnrt: RNNRT_ISA='%s' is not understood; use v3, v4 or auto", forced);
            return;
        }
        if (want > level) {
            snprintf(g_error, sizeof g_error,
                     "librnnrt: RNNRT_ISA=%s asks for the x86-64-v%d build but this CPU lacks %s; loading it would abort the process",
                     forced, want, missing);
            return;
        }
    }
    if (want < 3) {
        snprintf(g_error, sizeof g_error,
                 "librnnrt: this CPU lacks %s; rnnrt needs at least x86-64-v3 (AVX2 + FMA, Intel Haswell / AMD Excavator or newer)", missing);
        return;
    }

    char dir[4096], path[4200], versioned[4200];
    own_directory(dir, sizeof dir);
    snprintf(versioned, sizeof versioned, "%slibrnnrt_v%d.so.%s", dir, want, RNNRT_VERSION_STRING);
    snprintf(path, sizeof path, "%slibrnnrt_v%d.so", dir, want);
    const int installed = access(versioned, F_OK) == 0;
    if (installed) memcpy(path, versioned, sizeof path);
    void* lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        const char* why = dlerror();
        if (installed)
            snprintf(g_error, sizeof g_error, "librnnrt: cannot load the x86-64-v%d build %s: %s", want, path, why ? why : "unknown dlopen error");
        else
            snprintf(g_error, sizeof g_error, "librnnrt: cannot load the x86-64-v%d build %s (%.64s is not there either): %s", want, path,
                     versioned + strlen(dir), why ? why : "unknown dlopen error");
        return;
    }

#define RESOLVE(field)                                                                                              \
    do {                                                                                                            \
        *(void**)(&g_api.field) = dlsym(lib, "rnnrt_" #field);                                                      \
        if (!g_api.field) {                                                                                         \
            snprintf(g_error, sizeof g_error, "librnnrt: %s does not export rnnrt_%s; the library files do not match", path, #field); \
            return;                                                                                                 \
        }                                                                                                           \
    } while (0)
    RESOLVE(version);
    RESOLVE(last_error);
    RESOLVE(model_load);
    RESOLVE(model_load_memory);
    RESOLVE(model_load_ex);
    RESOLVE(model_load_memory_ex);
    RESOLVE(model_info);
    RESOLVE(model_layer_info);
    RESOLVE(model_free);
    RESOLVE(session_create);
    RESOLVE(session_step);
    RESOLVE(session_run);
    RESOLVE(session_reset);
    RESOLVE(session_get_state);
    RESOLVE(session_set_state);
    RESOLVE(session_step_active);
    RESOLVE(session_reset_slot);
    RESOLVE(session_get_state_slot);
    RESOLVE(session_set_state_slot);
    RESOLVE(session_free);
#undef RESOLVE
    if (g_api.version() != RNNRT_VERSION_NUMBER) {
        snprintf(g_error, sizeof g_error, "librnnrt: %s is version 0x%06x but the loader is 0x%06x; the library files do not match",
                 path, (unsigned)g_api.version(), (unsigned)RNNRT_VERSION_NUMBER);
        return;
    }
    g_loaded = 1;
    const char* trace = getenv("RNNRT_LOADER_TRACE");
    if (trace && *trace && strcmp(trace, "0") != 0)
        fprintf(stderr, "librnnrt: CPU level x86-64-v%d%s%s, loaded %s\n", level, level < 4 ? ", lacks " : "", level < 4 ? missing : "", path);
}

static inline int ready(void) {
    pthread_once(&g_once, load);
    return g_loaded;
}

RNNRT_API uint32_t rnnrt_version(void) {
    return ready() ? g_api.version() : RNNRT_VERSION_NUMBER;
}

RNNRT_API const char* rnnrt_last_error(void) {
    return ready() ? g_api.last_error() : g_error;
}

/* Here rather than forwarded: it must answer when no build could be loaded. The builds export the
 * same table (Exports.cs); the C tests compare the two for every code. */
RNNRT_API const char* rnnrt_status_string(rnnrt_status status) {
    switch (status) {
    case RNNRT_OK: return "RNNRT_OK";
    case RNNRT_INVALID_ARGUMENT: return "RNNRT_INVALID_ARGUMENT";
    case RNNRT_SHAPE_MISMATCH: return "RNNRT_SHAPE_MISMATCH";
    case RNNRT_IO: return "RNNRT_IO";
    case RNNRT_FORMAT: return "RNNRT_FORMAT";
    case RNNRT_BACKEND_UNAVAILABLE: return "RNNRT_BACKEND_UNAVAILABLE";
    case RNNRT_INVALID_HANDLE: return "RNNRT_INVALID_HANDLE";
    case RNNRT_OUT_OF_MEMORY: return "RNNRT_OUT_OF_MEMORY";
    case RNNRT_INTERNAL: return "RNNRT_INTERNAL";
    }
    return "RNNRT_UNKNOWN_STATUS";
}

RNNRT_API rnnrt_status rnnrt_model_load(const char* path, const char* backend, rnnrt_model** out) {
    if (ready()) return g_api.model_load(path, backend, out);
    if (out) *out = NULL;
    return RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_model_load_memory(const void* data, size_t len, const char* backend, rnnrt_model** out) {
    if (ready()) return g_api.model_load_memory(data, len, backend, out);
    if (out) *out = NULL;
    return RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_model_load_ex(const char* path, const struct rnnrt_load_options* options, rnnrt_model** out) {
    if (ready()) return g_api.model_load_ex(path, options, out);
    if (out) *out = NULL;
    return RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_model_load_memory_ex(const void* data, size_t len, const struct rnnrt_load_options* options, rnnrt_model** out) {
    if (ready()) return g_api.model_load_memory_ex(data, len, options, out);
    if (out) *out = NULL;
    return RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_model_info(const rnnrt_model* m, struct rnnrt_model_info* out) {
    return ready() ? g_api.model_info(m, out) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_model_layer_info(const rnnrt_model* m, int32_t index, struct rnnrt_layer_info* out) {
    return ready() ? g_api.model_layer_info(m, index, out) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API void rnnrt_model_free(rnnrt_model* m) {
    if (ready()) g_api.model_free(m);
}

RNNRT_API rnnrt_status rnnrt_session_create(rnnrt_model* m, int32_t batch, rnnrt_session** out) {
    if (ready()) return g_api.session_create(m, batch, out);
    if (out) *out = NULL;
    return RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_step(rnnrt_session* s, const float* x, size_t x_len, float* y, size_t y_len) {
    return ready() ? g_api.session_step(s, x, x_len, y, y_len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_run(rnnrt_session* s, const float* xs, size_t steps, float* ys, size_t ys_len) {
    return ready() ? g_api.session_run(s, xs, steps, ys, ys_len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_reset(rnnrt_session* s) {
    return ready() ? g_api.session_reset(s) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_get_state(const rnnrt_session* s, float* state, size_t len) {
    return ready() ? g_api.session_get_state(s, state, len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_set_state(rnnrt_session* s, const float* state, size_t len) {
    return ready() ? g_api.session_set_state(s, state, len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_step_active(rnnrt_session* s, const int32_t* active, size_t active_count,
                                                 const float* x, size_t x_len, float* y, size_t y_len) {
    return ready() ? g_api.session_step_active(s, active, active_count, x, x_len, y, y_len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_reset_slot(rnnrt_session* s, int32_t slot) {
    return ready() ? g_api.session_reset_slot(s, slot) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_get_state_slot(const rnnrt_session* s, int32_t slot, float* state, size_t len) {
    return ready() ? g_api.session_get_state_slot(s, slot, state, len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API rnnrt_status rnnrt_session_set_state_slot(rnnrt_session* s, int32_t slot, const float* state, size_t len) {
    return ready() ? g_api.session_set_state_slot(s, slot, state, len) : RNNRT_BACKEND_UNAVAILABLE;
}

RNNRT_API void rnnrt_session_free(rnnrt_session* s) {
    if (ready()) g_api.session_free(s);
}
