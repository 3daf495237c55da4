/*
 * C tests of librnnrt: every function of rnnrt.h, outputs against the PyTorch fixtures and against a
 * small C GRU written here, and every bad input the header documents (each must give the right status
 * and a message that says what was wrong).
 *
 *   test_rnnrt [--quick] [FIXTURES_DIR]            the suite (--quick: skip the 1000-step fixtures)
 *   test_rnnrt --expect-unavailable TEXT           the loader could not load a build: every call must
 *                                                  return RNNRT_BACKEND_UNAVAILABLE with TEXT in the message
 *   test_rnnrt --expect-isa v4                     the loader mapped librnnrt_v4.so
 *
 * Last line: "c-tests: N passed, F failed, S skipped". Exit status 0 only when nothing failed.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rnnrt.h"

/*-------------------------------------------------------------------------------------------------
 * A tiny harness: a test is a function; it passes when none of its checks failed.
 *-----------------------------------------------------------------------------------------------*/
static int g_passed, g_failed, g_skipped;
static int g_test_failures;
static const char* g_test_name;

static void fail_at(int line, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "  FAIL %s (line %d): ", g_test_name, line);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_test_failures++;
}

#define CHECK(cond, ...) do { if (!(cond)) fail_at(__LINE__, __VA_ARGS__); } while (0)

static const char* status_name(rnnrt_status s) {
    switch (s) {
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
    return "(unknown status)";
}

/* A call must succeed. */
#define OK(call) do { rnnrt_status st_ = (call); \
    if (st_ != RNNRT_OK) fail_at(__LINE__, "%s returned %s: %s", #call, status_name(st_), rnnrt_last_error()); } while (0)

/* A call must fail with `expected`, and the message must name the function and contain `text`. */
static void expect_fail(int line, const char* what, rnnrt_status got, rnnrt_status expected, const char* function, const char* text) {
    const char* msg = rnnrt_last_error();
    if (got != expected) { fail_at(line, "%s returned %s, expected %s (message: %s)", what, status_name(got), status_name(expected), msg); return; }
    if (!msg) { fail_at(line, "%s: rnnrt_last_error() is NULL", what); return; }
    if (function && strncmp(msg, function, strlen(function)) != 0) fail_at(line, "%s: message does not start with %s: %s", what, function, msg);
    if (!strstr(msg, text)) fail_at(line, "%s: message lacks \"%s\": %s", what, text, msg);
    /* Messages read as C: .NET's decorations of an ArgumentException must not leak through. */
    if (strstr(msg, "(Parameter '") || strstr(msg, "Actual value was") || strchr(msg, '\n'))
        fail_at(line, "%s: message carries .NET wording: %s", what, msg);
}
#define EXPECT(call, status, function, text) expect_fail(__LINE__, #call, (call), status, function, text)

/* A void call (a free) must report `text` through rnnrt_last_error: the message must change to it. */
static void expect_reported(int line, const char* what, const char* function, const char* text) {
    const char* msg = rnnrt_last_error();
    if (strncmp(msg, function, strlen(function)) != 0 || !strstr(msg, text)) fail_at(line, "%s: expected a %s message with \"%s\", got: %s", what, function, text, msg);
}

static void run_test(const char* name, void (*fn)(void)) {
    g_test_name = name;
    g_test_failures = 0;
    fn();
    if (g_test_failures) { g_failed++; fprintf(stderr, "FAILED %s\n", name); }
    else { g_passed++; fprintf(stderr, "ok     %s\n", name); }
}

static void skip_test(const char* name, const char* why) {
    g_skipped++;
    fprintf(stderr, "skip   %s: %s\n", name, why);
}

/*-------------------------------------------------------------------------------------------------
 * Making models: PyTorch-named F32 tensors, weights U(-k, k), k = 1.5/sqrt(H) (see DESIGN.md).
 *-----------------------------------------------------------------------------------------------*/
typedef struct { unsigned char* data; size_t len; } bytes;

static uint64_t g_rng = 88172645463325252ull;
static float uniform(float k) {
    g_rng ^= g_rng << 13; g_rng ^= g_rng >> 7; g_rng ^= g_rng << 17;
    return (float)(((double)(g_rng >> 11) / 9007199254740992.0) * 2.0 - 1.0) * k;
}

typedef struct {
    char name[64];
    int shape[2], ndim;
    float* values;
} tensor;

/* Writes tensors as safetensors: 8-byte LE header length, JSON header, raw little-endian data. */
static bytes write_safetensors(const tensor* t, int n, const char* metadata_json) {
    char header[8192];
    size_t h = 0, offset = 0;
    h += (size_t)snprintf(header + h, sizeof header - h, "{");
    if (metadata_json) h += (size_t)snprintf(header + h, sizeof header - h, "\"__metadata__\":%s,", metadata_json);
    for (int i = 0; i < n; i++) {
        size_t count = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        if (t[i].ndim == 2)
            h += (size_t)snprintf(header + h, sizeof header - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                                  i ? "," : "", t[i].name, t[i].shape[0], t[i].shape[1], offset, offset + 4 * count);
        else
            h += (size_t)snprintf(header + h, sizeof header - h, "%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
                                  i ? "," : "", t[i].name, t[i].shape[0], offset, offset + 4 * count);
        offset += 4 * count;
    }
    h += (size_t)snprintf(header + h, sizeof header - h, "}");
    while (h % 8) header[h++] = ' ';
    bytes b;
    b.len = 8 + h + offset;
    b.data = malloc(b.len);
    for (int i = 0; i < 8; i++) b.data[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b.data + 8, header, h);
    size_t at = 8 + h;
    for (int i = 0; i < n; i++) {
        size_t count = (size_t)t[i].shape[0] * (size_t)(t[i].ndim == 2 ? t[i].shape[1] : 1);
        memcpy(b.data + at, t[i].values, 4 * count); /* x86-64 and arm64 are little-endian */
        at += 4 * count;
    }
    return b;
}

/* A model as PyTorch would name it; gates: 1 RNN, 3 GRU, 4 LSTM. Keeps the weights in *keep if asked. */
typedef struct {
    int gates, input, hidden, layers, dirs;
    tensor t[64];
    int n;
} model_spec;

static void make_model(model_spec* m, int gates, int input, int hidden, int layers, int dirs) {
    memset(m, 0, sizeof *m);
    m->gates = gates; m->input = input; m->hidden = hidden; m->layers = layers; m->dirs = dirs;
    const float k = 1.5f / sqrtf((float)hidden);
    static const char* params[] = { "weight_ih", "weight_hh", "bias_ih", "bias_hh" };
    for (int l = 0; l < layers; l++)
        for (int d = 0; d < dirs; d++)
            for (int p = 0; p < 4; p++) {
                tensor* t = &m->t[m->n++];
                snprintf(t->name, sizeof t->name, "%s_l%d%s", params[p], l, d ? "_reverse" : "");
                t->shape[0] = gates * hidden;
                t->ndim = p < 2 ? 2 : 1;
                t->shape[1] = p == 0 ? (l == 0 ? input : dirs * hidden) : hidden;
                size_t count = (size_t)t->shape[0] * (size_t)(t->ndim == 2 ? t->shape[1] : 1);
                t->values = malloc(4 * count);
                for (size_t i = 0; i < count; i++) t->values[i] = uniform(k);
            }
}

static void free_model_spec(model_spec* m) {
    for (int i = 0; i < m->n; i++) free(m->t[i].values);
}

static bytes model_bytes(const model_spec* m) { return write_safetensors(m->t, m->n, NULL); }

static rnnrt_model* load_spec(const model_spec* spec, const char* backend) {
    bytes b = model_bytes(spec);
    rnnrt_model* m = NULL;
    rnnrt_status st = rnnrt_model_load_memory(b.data, b.len, backend, &m);
    if (st != RNNRT_OK) fail_at(__LINE__, "rnnrt_model_load_memory: %s: %s", status_name(st), rnnrt_last_error());
    free(b.data);
    return m;
}

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

/* One step of a one-layer GRU, batch B, in double: PyTorch's formulas (DESIGN.md), written again here
 * so that this suite checks numbers even without the fixtures. */
static void gru_step_reference(const model_spec* m, int B, const float* x, double* h /* [B,H] in/out */, float* y) {
    const int I = m->input, H = m->hidden;
    const float *wih = m->t[0].values, *whh = m->t[1].values, *bih = m->t[2].values, *bhh = m->t[3].values;
    double* hn = malloc(sizeof(double) * (size_t)H);
    for (int b = 0; b < B; b++) {
        for (int j = 0; j < H; j++) {
            double gi[3], gh[3];
            for (int g = 0; g < 3; g++) {
                int row = g * H + j;
                gi[g] = bih[row]; gh[g] = bhh[row];
                for (int i = 0; i < I; i++) gi[g] += (double)wih[row * I + i] * x[b * I + i];
                for (int i = 0; i < H; i++) gh[g] += (double)whh[row * H + i] * h[b * H + i];
            }
            double r = sigmoid(gi[0] + gh[0]), z = sigmoid(gi[1] + gh[1]);
            double n = tanh(gi[2] + r * gh[2]);
            hn[j] = (1 - z) * n + z * h[b * H + j];
        }
        for (int j = 0; j < H; j++) { h[b * H + j] = hn[j]; y[b * H + j] = (float)hn[j]; }
    }
    free(hn);
}

static void fill(float* v, size_t n, float k) { for (size_t i = 0; i < n; i++) v[i] = uniform(k); }

static double max_abs_diff(const float* a, const float* b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) { double d = fabs((double)a[i] - (double)b[i]); if (!(d <= worst)) worst = d; }
    return worst;
}

static const char* g_tmpdir;
static char g_fixtures[4096];
static int g_quick;

/*-------------------------------------------------------------------------------------------------
 * Reading the fixtures: <name>.io.safetensors holds F32 x, h0, (c0), y, h_n, (c_n).
 *-----------------------------------------------------------------------------------------------*/
static bytes read_file(const char* path) {
    bytes b = { NULL, 0 };
    FILE* f = fopen(path, "rb");
    if (!f) return b;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(n > 0 ? (size_t)n : 1);
    b.len = fread(b.data, 1, (size_t)n, f);
    fclose(f);
    return b;
}

/* Finds F32 tensor `name` in a safetensors file: its shape and its data. 0 if absent or malformed. */
static int find_tensor(const bytes* file, const char* name, int shape[4], int* ndim, const float** data, size_t* count) {
    if (file->len < 8) return 0;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)file->data[i] << (8 * i);
    if (hlen > file->len - 8) return 0;
    const char* header = (const char*)file->data + 8;
    const char* end = header + hlen;
    char key[80];
    snprintf(key, sizeof key, "\"%s\":", name);
    const char* at = NULL;
    for (const char* p = header; p + strlen(key) <= end; p++)
        if (memcmp(p, key, strlen(key)) == 0) { at = p + strlen(key); break; }
    if (!at) return 0;
    const char* close = memchr(at, '}', (size_t)(end - at));
    if (!close) return 0;
    char entry[512];
    size_t n = (size_t)(close - at) < sizeof entry - 1 ? (size_t)(close - at) : sizeof entry - 1;
    memcpy(entry, at, n);
    entry[n] = '\0';
    if (!strstr(entry, "\"dtype\":\"F32\"")) return 0;
    const char* s = strstr(entry, "\"shape\":[");
    const char* o = strstr(entry, "\"data_offsets\":[");
    if (!s || !o) return 0;
    s += strlen("\"shape\":[");
    *ndim = 0;
    *count = 1;
    while (*s && *s != ']' && *ndim < 4) {
        char* next;
        long d = strtol(s, &next, 10);
        if (next == s) return 0;
        shape[(*ndim)++] = (int)d;
        *count *= (size_t)d;
        s = next;
        while (*s == ',' || *s == ' ') s++;
    }
    o += strlen("\"data_offsets\":[");
    char* next;
    unsigned long long begin = strtoull(o, &next, 10);
    unsigned long long stop = strtoull(next + 1, NULL, 10);
    if (stop < begin || stop - begin != 4 * *count || 8 + hlen + stop > file->len) return 0;
    *data = (const float*)(file->data + 8 + hlen + begin);
    return 1;
}

/*-------------------------------------------------------------------------------------------------
 * The tests.
 *-----------------------------------------------------------------------------------------------*/
static void test_version(void) {
    CHECK(rnnrt_version() == RNNRT_VERSION_NUMBER, "rnnrt_version() 0x%06x != RNNRT_VERSION_NUMBER 0x%06x", rnnrt_version(), RNNRT_VERSION_NUMBER);
    CHECK((rnnrt_version() >> 16) == RNNRT_VERSION_MAJOR, "major version");
}

/* Every code's name, and the fixed answer for codes that are not in the enum. */
static const struct { int code; const char* name; } g_status_names[] = {
    { RNNRT_OK, "RNNRT_OK" }, { RNNRT_INVALID_ARGUMENT, "RNNRT_INVALID_ARGUMENT" },
    { RNNRT_SHAPE_MISMATCH, "RNNRT_SHAPE_MISMATCH" }, { RNNRT_IO, "RNNRT_IO" }, { RNNRT_FORMAT, "RNNRT_FORMAT" },
    { RNNRT_BACKEND_UNAVAILABLE, "RNNRT_BACKEND_UNAVAILABLE" }, { RNNRT_INVALID_HANDLE, "RNNRT_INVALID_HANDLE" },
    { RNNRT_OUT_OF_MEMORY, "RNNRT_OUT_OF_MEMORY" }, { RNNRT_INTERNAL, "RNNRT_INTERNAL" },
    { -1, "RNNRT_UNKNOWN_STATUS" }, { 9, "RNNRT_UNKNOWN_STATUS" }, { 1000, "RNNRT_UNKNOWN_STATUS" },
    { INT_MIN, "RNNRT_UNKNOWN_STATUS" }, { INT_MAX, "RNNRT_UNKNOWN_STATUS" },
};

static void check_status_names(const char* (*fn)(rnnrt_status), const char* who) {
    for (size_t i = 0; i < sizeof g_status_names / sizeof g_status_names[0]; i++) {
        const char* got = fn((rnnrt_status)g_status_names[i].code);
        CHECK(got != NULL, "%s(%d) returned NULL", who, g_status_names[i].code);
        if (got) CHECK(strcmp(got, g_status_names[i].name) == 0, "%s(%d) is \"%s\", expected \"%s\"", who, g_status_names[i].code, got, g_status_names[i].name);
        CHECK(fn((rnnrt_status)g_status_names[i].code) == got, "%s(%d): not the same static string twice", who, g_status_names[i].code);
    }
}

static int mapped_build_path(char* path, size_t size);

static void test_status_string(void) {
    check_status_names(rnnrt_status_string, "rnnrt_status_string");
    /* The build's own export (what a program gets where there is no loader in front) says the same. */
    char path[4096];
    if (!mapped_build_path(path, sizeof path)) { fail_at(__LINE__, "no librnnrt_v3/v4 build is mapped"); return; }
    void* lib = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
    CHECK(lib != NULL, "dlopen(%s, RTLD_NOLOAD): %s", path, dlerror());
    if (!lib) return;
    const char* (*direct)(rnnrt_status);
    *(void**)(&direct) = dlsym(lib, "rnnrt_status_string");
    CHECK(direct != NULL, "%s does not export rnnrt_status_string", path);
    if (direct) check_status_names(direct, path);
    dlclose(lib);
}

static void* fresh_thread_error(void* arg) {
    const char* msg = rnnrt_last_error();
    *(int*)arg = msg != NULL && msg[0] == '\0';
    /* A failure here must not show on the main thread. */
    rnnrt_model* m = NULL;
    (void)rnnrt_model_load(NULL, NULL, &m);
    return NULL;
}

static void test_last_error_is_per_thread(void) {
    rnnrt_model* m = NULL;
    EXPECT(rnnrt_model_load("/nonexistent/rnnrt-main-thread.safetensors", NULL, &m), RNNRT_IO, "rnnrt_model_load", "rnnrt-main-thread");
    int fresh_empty = 0;
    pthread_t t;
    pthread_create(&t, NULL, fresh_thread_error, &fresh_empty);
    pthread_join(t, NULL);
    CHECK(fresh_empty, "a thread that never failed should read \"\" from rnnrt_last_error()");
    CHECK(strstr(rnnrt_last_error(), "rnnrt-main-thread") != NULL, "another thread's failure overwrote this thread's message: %s", rnnrt_last_error());
    /* Success leaves the message alone. */
    CHECK(rnnrt_version() != 0 && strstr(rnnrt_last_error(), "rnnrt-main-thread"), "message changed by a successful call");
}

static const char* mapped_build(void);

static const char* const known_backends[] = { "reference", "sse", "neon", "avx2", "avx512", "opencl" };

static int is_known_backend(const char* name) {
    for (size_t i = 0; i < sizeof known_backends / sizeof known_backends[0]; i++)
        if (strcmp(name, known_backends[i]) == 0) return 1;
    return 0;
}

static char g_auto_backend[16];

static void test_model_info(void) {
    model_spec spec;
    make_model(&spec, 3, 5, 7, 2, 1);
    rnnrt_model* m = load_spec(&spec, NULL);
    struct rnnrt_model_info info;
    memset(&info, 0x5a, sizeof info);
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.cell == RNNRT_CELL_GRU, "cell %d", info.cell);
    CHECK(info.nonlinearity == RNNRT_NONLINEARITY_TANH, "nonlinearity %d", info.nonlinearity);
    CHECK(info.input_size == 5 && info.hidden_size == 7 && info.num_layers == 2 && info.num_directions == 1, "sizes %d %d %d %d",
          info.input_size, info.hidden_size, info.num_layers, info.num_directions);
    CHECK(info.output_size == 7 && info.has_bias == 1 && info.state_size == 2 * 7, "output %d bias %d state %d", info.output_size, info.has_bias, info.state_size);
    CHECK(memchr(info.backend, '\0', sizeof info.backend) != NULL, "backend name not NUL-terminated");
    CHECK(is_known_backend(info.backend), "auto resolved to unknown backend '%.16s'", info.backend);
    memcpy(g_auto_backend, info.backend, sizeof g_auto_backend);
    g_auto_backend[15] = '\0';
    rnnrt_model_free(m);

    /* An explicit backend is reported as asked. */
    m = load_spec(&spec, "reference");
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(strcmp(info.backend, "reference") == 0, "backend '%s', expected reference", info.backend);
    rnnrt_model_free(m);
    free_model_spec(&spec);

    /* An LSTM, bidirectional: cell, directions, state size. */
    make_model(&spec, 4, 3, 4, 1, 2);
    m = load_spec(&spec, "reference");
    OK(rnnrt_model_info(m, &info));
    CHECK(info.cell == RNNRT_CELL_LSTM && info.num_directions == 2 && info.output_size == 8 && info.state_size == 2 * 2 * 4,
          "lstm bi: cell %d dirs %d out %d state %d", info.cell, info.num_directions, info.output_size, info.state_size);
    rnnrt_model_free(m);
    free_model_spec(&spec);

    /* ReLU RNN through metadata. */
    make_model(&spec, 1, 3, 4, 1, 1);
    bytes b = write_safetensors(spec.t, spec.n, "{\"nonlinearity\":\"relu\"}");
    OK(rnnrt_model_load_memory(b.data, b.len, "reference", &m));
    OK(rnnrt_model_info(m, &info));
    CHECK(info.cell == RNNRT_CELL_RNN && info.nonlinearity == RNNRT_NONLINEARITY_RELU, "relu rnn: cell %d nonlinearity %d", info.cell, info.nonlinearity);
    rnnrt_model_free(m);
    free(b.data);
    free_model_spec(&spec);
}

static void test_load_file(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1);
    bytes b = model_bytes(&spec);
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", g_tmpdir);
    FILE* f = fopen(path, "wb");
    fwrite(b.data, 1, b.len, f);
    fclose(f);
    rnnrt_model* m = NULL;
    OK(rnnrt_model_load(path, "reference", &m));
    CHECK(m != NULL, "no model");
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.cell == RNNRT_CELL_GRU && info.input_size == 4 && info.hidden_size == 6, "file model info");
    /* The same file through "auto" (NULL) and through "auto" spelled out. */
    rnnrt_model* a = NULL;
    OK(rnnrt_model_load(path, "auto", &a));
    rnnrt_model_free(a);
    rnnrt_model_free(m);
    free(b.data);
    free_model_spec(&spec);
    remove(path);
}

/* Every layer of a network, where rnnrt_model_info describes only the first recurrent module. */
static void check_layer(int line, rnnrt_model* m, int index, int kind, const char* name, int in, int out, int cell, int hidden, int layers,
                        int dirs, int proj, int has_bias, int state) {
    struct rnnrt_layer_info l;
    memset(&l, 0x5a, sizeof l);
    l.struct_size = sizeof l;
    rnnrt_status st = rnnrt_model_layer_info(m, index, &l);
    if (st != RNNRT_OK) { fail_at(line, "rnnrt_model_layer_info(%d): %s: %s", index, status_name(st), rnnrt_last_error()); return; }
    if (l.kind != kind || strcmp(l.name, name) != 0 || l.input_size != in || l.output_size != out || l.cell != cell || l.hidden_size != hidden ||
        l.num_layers != layers || l.num_directions != dirs || l.proj_size != proj || l.has_bias != has_bias || l.state_size != state ||
        l.nonlinearity != RNNRT_NONLINEARITY_TANH)
        fail_at(line, "layer %d: kind %d '%.64s' %d -> %d cell %d hidden %d layers %d dirs %d proj %d bias %d state %d nonlinearity %d", index,
                l.kind, l.name, l.input_size, l.output_size, l.cell, l.hidden_size, l.num_layers, l.num_directions, l.proj_size, l.has_bias,
                l.state_size, l.nonlinearity);
}

static void test_layer_info(void) {
    char path[4200];
    snprintf(path, sizeof path, "%s/net_denoiser.safetensors", g_fixtures);
    rnnrt_model* m = NULL;
    if (rnnrt_model_load(path, "reference", &m) != RNNRT_OK) { CHECK(0, "%s: %s", path, rnnrt_last_error()); return; }
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.layer_count == 6 && info.input_size == 42 && info.hidden_size == 24, "network info");
    check_layer(__LINE__, m, 0, RNNRT_LAYER_LINEAR, "fc_in", 42, 24, 0, 0, 0, 0, 0, 1, 0);
    check_layer(__LINE__, m, 1, RNNRT_LAYER_TANH, "tanh", 24, 24, 0, 0, 0, 0, 0, 0, 0);
    check_layer(__LINE__, m, 2, RNNRT_LAYER_RECURRENT, "gru1", 24, 24, RNNRT_CELL_GRU, 24, 1, 1, 0, 1, 24);
    check_layer(__LINE__, m, 3, RNNRT_LAYER_RECURRENT, "gru2", 24, 48, RNNRT_CELL_GRU, 48, 1, 1, 0, 1, 48);
    check_layer(__LINE__, m, 4, RNNRT_LAYER_LINEAR, "fc", 48, 22, 0, 0, 0, 0, 0, 1, 0);
    check_layer(__LINE__, m, 5, RNNRT_LAYER_SIGMOID, "sigmoid", 22, 22, 0, 0, 0, 0, 0, 0, 0);
    struct rnnrt_layer_info l;
    l.struct_size = sizeof l;
    EXPECT(rnnrt_model_layer_info(m, 6, &l), RNNRT_INVALID_ARGUMENT, "rnnrt_model_layer_info", "index is 6; expected 0..5");
    EXPECT(rnnrt_model_layer_info(m, -1, &l), RNNRT_INVALID_ARGUMENT, "rnnrt_model_layer_info", "index is -1; expected 0..5");
    EXPECT(rnnrt_model_layer_info(m, 0, NULL), RNNRT_INVALID_ARGUMENT, "rnnrt_model_layer_info", "out is NULL");
    l.struct_size = 8;
    EXPECT(rnnrt_model_layer_info(m, 0, &l), RNNRT_INVALID_ARGUMENT, "rnnrt_model_layer_info", "struct_size is 8");
    l.struct_size = sizeof l;
    EXPECT(rnnrt_model_layer_info(NULL, 0, &l), RNNRT_INVALID_HANDLE, "rnnrt_model_layer_info", "model is NULL");
    rnnrt_model_free(m);
    EXPECT(rnnrt_model_layer_info(m, 0, &l), RNNRT_INVALID_HANDLE, "rnnrt_model_layer_info", "already freed");

    /* A lone module: one recurrent layer, no prefix. An LSTM with a projection, bidirectional. */
    snprintf(path, sizeof path, "%s/lstm_proj_bi_l2_b3.safetensors", g_fixtures);
    if (rnnrt_model_load(path, "reference", &m) != RNNRT_OK) { CHECK(0, "%s: %s", path, rnnrt_last_error()); return; }
    check_layer(__LINE__, m, 0, RNNRT_LAYER_RECURRENT, "", 13, 22, RNNRT_CELL_LSTM, 37, 2, 2, 11, 1, 2 * 2 * (11 + 37));
    rnnrt_model_free(m);
}

/* Step and run against the C GRU above; run == the same steps one by one. */
static void test_step_and_run_match_reference(void) {
    const int B = 2, T = 25;
    model_spec spec;
    make_model(&spec, 3, 9, 11, 1, 1);
    const int I = spec.input, H = spec.hidden;
    for (int pass = 0; pass < 2; pass++) {
        const char* backend = pass == 0 ? "reference" : NULL;
        rnnrt_model* m = load_spec(&spec, backend);
        rnnrt_session *s = NULL, *r = NULL;
        OK(rnnrt_session_create(m, B, &s));
        OK(rnnrt_session_create(m, B, &r));
        float* xs = malloc(sizeof(float) * (size_t)(T * B * I));
        float* ys = malloc(sizeof(float) * (size_t)(T * B * H));
        float* expect = malloc(sizeof(float) * (size_t)(T * B * H));
        double* h = calloc((size_t)(B * H), sizeof(double));
        fill(xs, (size_t)(T * B * I), 1.0f);
        for (int t = 0; t < T; t++) gru_step_reference(&spec, B, xs + t * B * I, h, expect + t * B * H);
        for (int t = 0; t < T; t++) OK(rnnrt_session_step(s, xs + t * B * I, (size_t)(B * I), ys + t * B * H, (size_t)(B * H)));
        double dev = max_abs_diff(ys, expect, (size_t)(T * B * H));
        CHECK(dev <= 2e-6, "%s: step deviates from the C GRU by %g", backend ? backend : "auto", dev);
        float* ys_run = malloc(sizeof(float) * (size_t)(T * B * H));
        OK(rnnrt_session_run(r, xs, (size_t)T, ys_run, (size_t)(T * B * H)));
        dev = max_abs_diff(ys_run, expect, (size_t)(T * B * H));
        CHECK(dev <= 2e-6, "%s: run deviates from the C GRU by %g", backend ? backend : "auto", dev);
        float hs[2 * 11], hr[2 * 11];
        OK(rnnrt_session_get_state(s, hs, (size_t)(B * H)));
        OK(rnnrt_session_get_state(r, hr, (size_t)(B * H)));
        for (int i = 0; i < B * H; i++) CHECK(fabs(hs[i] - (float)h[i]) <= 2e-6 && fabs(hr[i] - (float)h[i]) <= 2e-6, "h_n[%d]", i);
        /* steps = 0: nothing happens, NULL buffers allowed. */
        OK(rnnrt_session_run(r, NULL, 0, NULL, 0));
        rnnrt_session_free(s);
        rnnrt_session_free(r);
        rnnrt_model_free(m);
        free(xs); free(ys); free(expect); free(h); free(ys_run);
    }
    free_model_spec(&spec);
}

static void test_state_roundtrip_and_reset(void) {
    model_spec spec;
    make_model(&spec, 4, 3, 5, 2, 1); /* LSTM, 2 layers: state = h then c, each [2, B, 5] */
    rnnrt_model* m = load_spec(&spec, NULL);
    rnnrt_session* s = NULL;
    const int B = 3, n = 2 * 2 * B * 5;
    OK(rnnrt_session_create(m, B, &s));
    float in[60], out[60], zero[60];
    fill(in, (size_t)n, 0.5f);
    memset(zero, 0, sizeof zero);
    OK(rnnrt_session_get_state(s, out, (size_t)n));
    CHECK(memcmp(out, zero, sizeof(float) * (size_t)n) == 0, "a new session's state is not zero");
    OK(rnnrt_session_set_state(s, in, (size_t)n));
    OK(rnnrt_session_get_state(s, out, (size_t)n));
    CHECK(memcmp(in, out, sizeof(float) * (size_t)n) == 0, "get_state after set_state differs");
    float x[9], y[15];
    fill(x, 9, 1.0f);
    OK(rnnrt_session_step(s, x, 9, y, 15));
    OK(rnnrt_session_get_state(s, out, (size_t)n));
    CHECK(memcmp(in, out, sizeof(float) * (size_t)n) != 0, "a step did not change the state");
    OK(rnnrt_session_reset(s));
    OK(rnnrt_session_get_state(s, out, (size_t)n));
    CHECK(memcmp(out, zero, sizeof(float) * (size_t)n) == 0, "reset did not zero the state");
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

/* Many streams: one slot's state in and out; the other slots keep theirs bit for bit. */
static void test_state_slots(void) {
    model_spec spec;
    make_model(&spec, 4, 3, 5, 2, 1); /* LSTM, 2 layers: a slot's state = h [2, 1, 5] then c [2, 1, 5] */
    rnnrt_model* m = load_spec(&spec, NULL);
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.state_size == 20, "state_size is %d; expected 20", info.state_size);
    rnnrt_session* s = NULL;
    const int B = 3, H = 5, n = 2 * 2 * B * H, k = 2 * 2 * H;
    OK(rnnrt_session_create(m, B, &s));
    float all[60], before[60], after[60], slot[20], got[20];
    fill(all, (size_t)n, 0.5f);
    OK(rnnrt_session_set_state(s, all, (size_t)n));
    memcpy(before, all, sizeof all);

    /* get_state_slot: slot b's part of the whole state, [h|c][layer][b][unit]. */
    for (int b = 0; b < B; b++) {
        OK(rnnrt_session_get_state_slot(s, b, got, (size_t)k));
        for (int r = 0; r < 4; r++)
            CHECK(memcmp(got + r * H, all + (r * B + b) * H, sizeof(float) * (size_t)H) == 0, "slot %d row %d differs from get_state", b, r);
    }

    /* set_state_slot changes slot 1 only. */
    fill(slot, (size_t)k, 0.5f);
    OK(rnnrt_session_set_state_slot(s, 1, slot, (size_t)k));
    OK(rnnrt_session_get_state_slot(s, 1, got, (size_t)k));
    CHECK(memcmp(got, slot, sizeof slot) == 0, "get_state_slot after set_state_slot differs");
    OK(rnnrt_session_get_state(s, after, (size_t)n));
    for (int r = 0; r < 4; r++)
        for (int b = 0; b < B; b++) {
            const float* want = b == 1 ? slot + r * H : before + (r * B + b) * H;
            CHECK(memcmp(after + (r * B + b) * H, want, sizeof(float) * (size_t)H) == 0, "set_state_slot(1): slot %d row %d wrong", b, r);
        }

    /* reset_slot zeroes slot 2 only. */
    memcpy(before, after, sizeof after);
    OK(rnnrt_session_reset_slot(s, 2));
    OK(rnnrt_session_get_state(s, after, (size_t)n));
    for (int r = 0; r < 4; r++)
        for (int b = 0; b < B; b++)
            for (int j = 0; j < H; j++) {
                float want = b == 2 ? 0.0f : before[(r * B + b) * H + j];
                CHECK(memcmp(&after[(r * B + b) * H + j], &want, sizeof want) == 0, "reset_slot(2): slot %d row %d unit %d wrong", b, r, j);
            }

    /* Bad arguments: a clear error, nothing changed. */
    memcpy(before, after, sizeof after);
    EXPECT(rnnrt_session_reset_slot(s, 3), RNNRT_INVALID_ARGUMENT, "rnnrt_session_reset_slot", "slot is 3; expected 0..2");
    EXPECT(rnnrt_session_reset_slot(s, -1), RNNRT_INVALID_ARGUMENT, "rnnrt_session_reset_slot", "slot is -1; expected 0..2");
    EXPECT(rnnrt_session_get_state_slot(s, 3, got, (size_t)k), RNNRT_INVALID_ARGUMENT, "rnnrt_session_get_state_slot", "slot is 3");
    EXPECT(rnnrt_session_get_state_slot(s, 0, got, 19), RNNRT_SHAPE_MISMATCH, "rnnrt_session_get_state_slot", "len is 19; expected 20");
    EXPECT(rnnrt_session_get_state_slot(s, 0, NULL, 20), RNNRT_INVALID_ARGUMENT, "rnnrt_session_get_state_slot", "state is NULL");
    EXPECT(rnnrt_session_set_state_slot(s, -2, slot, (size_t)k), RNNRT_INVALID_ARGUMENT, "rnnrt_session_set_state_slot", "slot is -2");
    EXPECT(rnnrt_session_set_state_slot(s, 0, slot, 21), RNNRT_SHAPE_MISMATCH, "rnnrt_session_set_state_slot", "len is 21; expected 20");
    EXPECT(rnnrt_session_set_state_slot(s, 0, NULL, 20), RNNRT_INVALID_ARGUMENT, "rnnrt_session_set_state_slot", "state is NULL");
    slot[7] = NAN;
    EXPECT(rnnrt_session_set_state_slot(s, 0, slot, (size_t)k), RNNRT_INVALID_ARGUMENT, "rnnrt_session_set_state_slot", "state[7] is NaN");
    EXPECT(rnnrt_session_reset_slot(NULL, 0), RNNRT_INVALID_HANDLE, "rnnrt_session_reset_slot", "session is NULL");
    OK(rnnrt_session_get_state(s, after, (size_t)n));
    CHECK(memcmp(after, before, sizeof after) == 0, "failed slot calls changed the state");

    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

/* Many streams: a step over some slots equals those streams stepped alone; the others keep their state. */
static void test_step_active(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1); /* GRU(4, 6): a slot's state is h [1, 1, 6] */
    rnnrt_model* m = load_spec(&spec, NULL);
    rnnrt_session* s = NULL;
    rnnrt_session* alone[3] = { NULL, NULL, NULL };
    OK(rnnrt_session_create(m, 3, &s));
    float h[6], x[8], y[12], ya[6], before[18], after[18];
    for (int b = 0; b < 3; b++) {
        OK(rnnrt_session_create(m, 1, &alone[b]));
        fill(h, 6, 0.5f);
        OK(rnnrt_session_set_state_slot(s, b, h, 6));
        OK(rnnrt_session_set_state(alone[b], h, 6));
    }
    const int32_t active[2] = { 2, 0 };
    for (int t = 0; t < 3; t++) {
        fill(x, 8, 1.0f);
        OK(rnnrt_session_get_state(s, before, 18));
        OK(rnnrt_session_step_active(s, active, 2, x, 8, y, 12));
        OK(rnnrt_session_get_state(s, after, 18));
        CHECK(memcmp(after + 6, before + 6, sizeof(float) * 6) == 0, "step %d: slot 1 (not listed) changed", t);
        for (int j = 0; j < 2; j++) {
            OK(rnnrt_session_step(alone[active[j]], x + 4 * j, 4, ya, 6));
            CHECK(memcmp(y + 6 * j, ya, sizeof ya) == 0, "step %d: row %d (slot %d) differs from the stream stepped alone", t, j, active[j]);
            OK(rnnrt_session_get_state(alone[active[j]], h, 6));
            CHECK(memcmp(after + 6 * active[j], h, sizeof h) == 0, "step %d: slot %d's state differs from the stream stepped alone", t, active[j]);
        }
    }
    OK(rnnrt_session_step_active(s, NULL, 0, NULL, 0, NULL, 0)); /* nothing listed: nothing done */

    /* Bad arguments: a clear error, nothing changed. */
    OK(rnnrt_session_get_state(s, before, 18));
    float y_before[12];
    memcpy(y_before, y, sizeof y);
    const int32_t twice[2] = { 1, 1 }, beyond[2] = { 0, 3 }, negative[1] = { -1 };
    EXPECT(rnnrt_session_step_active(s, twice, 2, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "1");
    EXPECT(rnnrt_session_step_active(s, beyond, 2, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "3");
    EXPECT(rnnrt_session_step_active(s, negative, 1, x, 4, y, 6), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "-1");
    EXPECT(rnnrt_session_step_active(s, NULL, 2, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "active is NULL");
    EXPECT(rnnrt_session_step_active(s, active, 4, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "active_count is 4");
    EXPECT(rnnrt_session_step_active(s, active, 2, x, 7, y, 12), RNNRT_SHAPE_MISMATCH, "rnnrt_session_step_active", "expected 8");
    EXPECT(rnnrt_session_step_active(s, active, 2, x, 8, y, 11), RNNRT_SHAPE_MISMATCH, "rnnrt_session_step_active", "expected 12");
    EXPECT(rnnrt_session_step_active(s, active, 2, NULL, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "x is NULL");
    x[5] = NAN;
    EXPECT(rnnrt_session_step_active(s, active, 2, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step_active", "x[5] is NaN");
    EXPECT(rnnrt_session_step_active(NULL, active, 2, x, 8, y, 12), RNNRT_INVALID_HANDLE, "rnnrt_session_step_active", "session is NULL");
    OK(rnnrt_session_get_state(s, after, 18));
    CHECK(memcmp(after, before, sizeof after) == 0, "failed step_active calls changed the state");
    CHECK(memcmp(y, y_before, sizeof y) == 0, "failed step_active calls wrote y");

    for (int b = 0; b < 3; b++) rnnrt_session_free(alone[b]);
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

/* Outputs against PyTorch: one test per fixture and backend. */
static double g_worst_fixture_dev;

static void check_fixture(const char* name, const char* backend) {
    char path[8400];
    snprintf(path, sizeof path, "%s/%s.io.safetensors", g_fixtures, name);
    bytes io = read_file(path);
    CHECK(io.data != NULL, "cannot read %s", path);
    if (!io.data) return;
    int sx[4], sh[4], sy[4], nd;
    size_t nx, nh, ny, nc = 0;
    const float *x, *h0, *y, *hn, *c0 = NULL, *cn = NULL;
    /* A network case holds its whole state as state0 / state_n (modules in order, h then c). */
    int network = find_tensor(&io, "state0", sh, &nd, &h0, &nh);
    if (!find_tensor(&io, "x", sx, &nd, &x, &nx) || nd != 3 || (!network && (!find_tensor(&io, "h0", sh, &nd, &h0, &nh) || nd != 3)) ||
        !find_tensor(&io, "y", sy, &nd, &y, &ny) || !find_tensor(&io, network ? "state_n" : "h_n", sh, &nd, &hn, &nh)) {
        fail_at(__LINE__, "%s: x, h0 (state0), y or h_n (state_n) missing or not F32", path);
        free(io.data);
        return;
    }
    int s2[4];
    if (!network && find_tensor(&io, "c0", s2, &nd, &c0, &nc)) CHECK(find_tensor(&io, "c_n", s2, &nd, &cn, &nc), "c0 without c_n");
    const int T = sx[0], B = sx[1], I = sx[2];

    /* The model: NAME.safetensors, or NAME.pt for a torch.save case (PyTorch's own zip format). */
    snprintf(path, sizeof path, "%s/%s.pt", g_fixtures, name);
    if (access(path, R_OK) != 0) snprintf(path, sizeof path, "%s/%s.safetensors", g_fixtures, name);
    rnnrt_model* m = NULL;
    rnnrt_status st;
    if (strcmp(name, "net_options_layers") == 0) {
        /* A plain state_dict of a whole network: the layer list comes from the caller, as a user of
           safetensors.torch.save_file(net.state_dict()) would give it. */
        static const char* const layers[] = { "fc_in", "relu", "gru", "fc", "tanh" };
        struct rnnrt_load_options o = { 0 };
        o.struct_size = sizeof o;
        o.backend = backend;
        o.layers = layers;
        o.layer_count = 5;
        st = rnnrt_model_load_ex(path, &o, &m);
    } else if (strstr(name, "_checkpoint") || strcmp(name, "lstm_prefixed_l1_b1") == 0) {
        /* A file holding more than the module (a checkpoint's head and optimizer, a head beside it):
           every tensor is used or loading fails, so the module is asked for by its prefix. */
        struct rnnrt_load_options o = { 0 };
        o.struct_size = sizeof o;
        o.backend = backend;
        o.prefix = strstr(name, "_checkpoint") ? "model_state_dict.lstm" : "encoder.lstm";
        st = rnnrt_model_load_ex(path, &o, &m);
    } else if (strstr(name, "relu_plain") || strcmp(name, "rnn_cell_relu_b3") == 0) {
        /* A ReLU RNN saved as a plain state_dict: the file cannot say relu, the caller does. */
        struct rnnrt_load_options o = { 0 };
        o.struct_size = sizeof o;
        o.backend = backend;
        o.nonlinearity = "relu";
        st = rnnrt_model_load_ex(path, &o, &m);
    } else {
        st = rnnrt_model_load(path, backend, &m);
    }
    if (st != RNNRT_OK) { fail_at(__LINE__, "load %s: %s %s", path, status_name(st), rnnrt_last_error()); free(io.data); return; }
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.input_size == I && (size_t)info.output_size * (size_t)T * (size_t)B == ny, "%s: sizes do not match the io file", name);
    CHECK((size_t)info.state_size * (size_t)B == nh + nc, "%s: state_size %d x B %d != %zu", name, info.state_size, B, nh + nc);

    rnnrt_session* s = NULL;
    OK(rnnrt_session_create(m, B, &s));
    float* state = malloc(sizeof(float) * (nh + nc));
    memcpy(state, h0, sizeof(float) * nh);
    if (c0) memcpy(state + nh, c0, sizeof(float) * nc);
    float* got = malloc(sizeof(float) * ny);
    float* got_state = malloc(sizeof(float) * (nh + nc));
    /* PyTorch's fp32 output; tolerance: float32 rounding through up to 1000 recurrent steps. */
    const double tol = 3e-5;
    OK(rnnrt_session_set_state(s, state, nh + nc));
    OK(rnnrt_session_run(s, x, (size_t)T, got, ny));
    double dev = max_abs_diff(got, y, ny);
    OK(rnnrt_session_get_state(s, got_state, nh + nc));
    double dev_h = max_abs_diff(got_state, hn, nh);
    double dev_c = cn ? max_abs_diff(got_state + nh, cn, nc) : 0;
    CHECK(dev <= tol && dev_h <= tol && dev_c <= tol, "%s on %s: run |y - torch| %.2e, |h_n| %.2e, |c_n| %.2e > %.0e", name, info.backend, dev, dev_h, dev_c, tol);
    if (dev > g_worst_fixture_dev) g_worst_fixture_dev = dev;

    if (!strstr(name, "_bi")) {
        /* Streaming the same sequence one step at a time gives the same answer. */
        OK(rnnrt_session_reset(s));
        OK(rnnrt_session_set_state(s, state, nh + nc));
        const size_t in_step = (size_t)B * (size_t)I, out_step = (size_t)B * (size_t)info.output_size;
        for (int t = 0; t < T; t++) OK(rnnrt_session_step(s, x + (size_t)t * in_step, in_step, got + (size_t)t * out_step, out_step));
        double dev_step = max_abs_diff(got, y, ny);
        CHECK(dev_step <= tol, "%s on %s: step |y - torch| %.2e > %.0e", name, info.backend, dev_step, tol);
    } else {
        float* x1 = malloc(sizeof(float) * (size_t)(B * I));
        float* y1 = malloc(sizeof(float) * (size_t)(B * info.output_size));
        EXPECT(rnnrt_session_step(s, x1, (size_t)(B * I), y1, (size_t)(B * info.output_size)), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "bidirectional");
        free(x1); free(y1);
    }
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free(state); free(got); free(got_state); free(io.data);
}

static int cmp_str(const void* a, const void* b) { return strcmp(*(const char* const*)a, *(const char* const*)b); }

static void run_fixture_tests(void) {
    DIR* d = opendir(g_fixtures);
    if (!d) { skip_test("fixtures", "no fixtures directory (Runtime.Tests/Fixtures)"); return; }
    char* names[256];
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) && n < 256) {
        size_t len = strlen(e->d_name);
        const char* suffix = ".io.safetensors";
        if (len > strlen(suffix) && strcmp(e->d_name + len - strlen(suffix), suffix) == 0) {
            names[n] = strdup(e->d_name);
            names[n][len - strlen(suffix)] = '\0';
            n++;
        }
    }
    closedir(d);
    if (n == 0) skip_test("fixtures", "no *.io.safetensors in the fixtures directory");
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < 2; b++) {
            char test[300];
            snprintf(test, sizeof test, "fixture %s (%s)", names[i], b ? "reference" : "auto");
            if (g_quick && strstr(names[i], "long")) { skip_test(test, "--quick"); continue; }
            g_test_name = test;
            g_test_failures = 0;
            check_fixture(names[i], b ? "reference" : NULL);
            if (g_test_failures) { g_failed++; fprintf(stderr, "FAILED %s\n", test); }
            else { g_passed++; fprintf(stderr, "ok     %s\n", test); }
        }
        free(names[i]);
    }
}

/* torch.save files through the C loaders: a state_dict loads (the fixture loop runs every *.pt case
   against PyTorch), from a file and from memory; what is not a state_dict is RNNRT_FORMAT with advice. */
static void test_torch_save_files(void) {
    char path[4200];
    rnnrt_model* m = NULL;
    snprintf(path, sizeof path, "%s/gru_pt_l1_b1.pt", g_fixtures);
    bytes file = read_file(path);
    CHECK(file.data != NULL, "cannot read %s", path);
    if (!file.data) return;
    OK(rnnrt_model_load(path, "reference", &m));
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    if (m) {
        OK(rnnrt_model_info(m, &info));
        CHECK(info.input_size == 6 && info.hidden_size == 10 && info.num_layers == 1, "gru_pt_l1_b1: input %d hidden %d layers %d", info.input_size, info.hidden_size, info.num_layers);
        rnnrt_model_free(m);
    }
    m = NULL;
    OK(rnnrt_model_load_memory(file.data, file.len, NULL, &m));
    rnnrt_model_free(m);
    /* Damaged: cut inside the zip's central directory. */
    m = (rnnrt_model*)&m;
    EXPECT(rnnrt_model_load_memory(file.data, file.len - 30, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory", "zip");
    CHECK(m == NULL, "*out not NULL after a failed load");
    free(file.data);

    /* A checkpoint: the module is found under its dotted prefix; Prefix picks it explicitly too. */
    snprintf(path, sizeof path, "%s/lstm_pt_checkpoint_l1_b2.pt", g_fixtures);
    struct rnnrt_load_options o = { 0 };
    o.struct_size = sizeof o;
    o.prefix = "model_state_dict.lstm";
    m = NULL;
    OK(rnnrt_model_load_ex(path, &o, &m));
    rnnrt_model_free(m);
    o.prefix = "lstm";
    EXPECT(rnnrt_model_load_ex(path, &o, &m), RNNRT_FORMAT, "rnnrt_model_load_ex", "'model_state_dict.lstm'");

    /* torch.save(model): a whole pickled module, refused by name with the state_dict advice. */
    snprintf(path, sizeof path, "%s/torch_whole_module.pt", g_fixtures);
    EXPECT(rnnrt_model_load(path, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load", "torch.nn.modules.rnn.GRU");
    EXPECT(rnnrt_model_load(path, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load", "torch.save(model.state_dict(), path)");
    snprintf(path, sizeof path, "%s/torch_legacy.pt", g_fixtures);
    EXPECT(rnnrt_model_load(path, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load", "legacy serialization format");
    snprintf(path, sizeof path, "%s/torch_script.pt", g_fixtures);
    EXPECT(rnnrt_model_load(path, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load", "TorchScript");
    fprintf(stderr, "       message: %s\n", rnnrt_last_error());
}

/* rnnrt_model_load_ex / _memory_ex: options, the layer list, and every way the struct can be wrong. */
static void test_load_ex(void) {
    char path[8400];
    snprintf(path, sizeof path, "%s/net_options_layers.safetensors", g_fixtures);
    bytes file = read_file(path);
    if (!file.data) { fail_at(__LINE__, "cannot read %s", path); return; }
    static const char* const layers[] = { "fc_in", "relu", "gru", "fc", "tanh" };
    struct rnnrt_load_options o = { 0 };
        o.struct_size = sizeof o;
    o.backend = "reference";
    o.layers = layers;
    o.layer_count = 5;
    rnnrt_model* m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &o, &m));
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.layer_count == 5 && info.input_size == 13 && info.output_size == 13 && info.cell == RNNRT_CELL_GRU && info.hidden_size == 37,
          "layers %d input %d output %d cell %d hidden %d", info.layer_count, info.input_size, info.output_size, info.cell, info.hidden_size);
    CHECK(info.state_size == 37, "state_size %d", info.state_size);
    rnnrt_model_free(m);

    /* A caller built against the first rnnrt_model_info (it ended at backend) still works, and the
       library writes nothing past the struct it was given. */
    struct { struct rnnrt_model_info info; int32_t guard; } old;
    memset(&old, 0x5a, sizeof old);
    old.info.struct_size = (uint32_t)offsetof(struct rnnrt_model_info, layer_count);
    /* Without a layer list the whole network's file is refused, naming what would be dropped; its GRU
       alone is asked for by its prefix. */
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory_ex",
           "4 tensors of the file belong to no layer: fc_in.weight, fc_in.bias, fc.weight, fc.bias");
    struct rnnrt_load_options gru_only = { 0 };
    gru_only.struct_size = sizeof gru_only;
    gru_only.prefix = "gru";
    m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &gru_only, &m));
    OK(rnnrt_model_info(m, &old.info));
    CHECK(old.info.input_size == 37 && old.info.output_size == 37, "the plain file's GRU by its prefix: %d %d", old.info.input_size, old.info.output_size);
    CHECK(old.info.layer_count == 0x5a5a5a5a, "layer_count written past a first-version struct_size");
    rnnrt_model_free(m);

    m = (rnnrt_model*)&m;
    struct rnnrt_load_options bad = o;
    bad.struct_size = 4;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "struct_size");
    CHECK(m == NULL, "*out not NULL after a failed load");
    bad = o;
    bad.layers = NULL;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "layers is NULL");
    bad = o;
    bad.layer_count = 5000;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "layer_count");
    static const char* const with_null[] = { "fc_in", NULL };
    bad = o;
    bad.layers = with_null;
    bad.layer_count = 2;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "layers[1] is NULL");
    static const char* const unknown[] = { "fc_in", "relu", "grux", "fc" };
    bad = o;
    bad.layers = unknown;
    bad.layer_count = 4;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_FORMAT, "rnnrt_model_load_memory_ex", "layer 2");
    static const char* const unchained[] = { "gru", "fc_in" };
    bad = o;
    bad.layers = unchained;
    bad.layer_count = 2;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_FORMAT, "rnnrt_model_load_memory_ex", "gives 37");
    bad = o;
    bad.nonlinearity = "gelu";
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "nonlinearity is 'gelu'");
    bad = o;
    bad.nonlinearity = "relu";   /* the list's module is a GRU: relu is for RNN modules only, and ignored by a network's GRU */
    m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m));
    rnnrt_model_free(m);
    m = (rnnrt_model*)&m;
    /* A caller built against the first version (it ended at layer_count): nonlinearity is not read. */
    bad = o;
    bad.struct_size = (uint32_t)offsetof(struct rnnrt_load_options, nonlinearity);
    bad.nonlinearity = "not read";
    m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m));
    rnnrt_model_free(m);
    m = (rnnrt_model*)&m;
    /* threads: 0 is the default (1), RNNRT_THREADS_PER_CORE resolves to the core count, other negatives are refused. */
    CHECK(info.threads == 1 && info.weight_format == RNNRT_WEIGHTS_FLOAT32, "defaults: threads %d weight_format %d", info.threads, info.weight_format);
    CHECK(info.weight_bytes > 0, "weight_bytes %lld", (long long)info.weight_bytes);
    bad = o;
    bad.threads = RNNRT_THREADS_PER_CORE;
    m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m));
    if (m) {
        OK(rnnrt_model_info(m, &info));
        CHECK(info.threads >= 1, "RNNRT_THREADS_PER_CORE resolved to %d", info.threads);
        rnnrt_model_free(m);
    }
    bad.threads = 2;
    m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m));
    if (m) {
        OK(rnnrt_model_info(m, &info));
        CHECK(info.threads == 2, "threads 2 reported as %d", info.threads);
        rnnrt_model_free(m);
    }
    m = (rnnrt_model*)&m;
    bad.threads = -2;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "threads is -2");
    bad.threads = 257;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "threads is 257");
    /* Narrow weights: the model holds and reports them, and a step runs; opencl refuses them by name. */
    for (int32_t format = RNNRT_WEIGHTS_BFLOAT16; format <= RNNRT_WEIGHTS_INT8; format++) {
        struct rnnrt_model_info narrow = { .struct_size = sizeof narrow };
        bad = o;
        bad.weight_format = format;
        m = NULL;
        OK(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m));
        if (m) {
            OK(rnnrt_model_info(m, &narrow));
            CHECK(narrow.weight_format == format, "weight_format %d reported as %d", format, narrow.weight_format);
            CHECK(narrow.weight_bytes < (format == RNNRT_WEIGHTS_INT8 ? info.weight_bytes / 3 : info.weight_bytes * 2 / 3),
                  "format %d: weight_bytes %lld of float32's %lld", format, (long long)narrow.weight_bytes, (long long)info.weight_bytes);
            rnnrt_session* s = NULL;
            OK(rnnrt_session_create(m, 1, &s));
            float x[64] = { 0.5f }, y[64];
            if (s && narrow.input_size <= 64 && narrow.output_size <= 64) {
                OK(rnnrt_session_step(s, x, (size_t)narrow.input_size, y, (size_t)narrow.output_size));
                CHECK(isfinite(y[0]), "format %d: y[0] = %g", format, y[0]);
            }
            rnnrt_session_free(s);
            rnnrt_model_free(m);
        }
        m = (rnnrt_model*)&m;
        bad.backend = "opencl";
        EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_BACKEND_UNAVAILABLE, "rnnrt_model_load_memory_ex", "float32 weights only");
    }
    bad = o;
    bad.weight_format = 7;
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory_ex", "weight_format is 7");
    /* A caller built against the second version (it ended at nonlinearity): threads and weight_format are not read. */
    bad = o;
    bad.struct_size = (uint32_t)offsetof(struct rnnrt_load_options, threads);
    bad.threads = -5;
    bad.weight_format = 9;
    m = NULL;
    OK(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m));
    rnnrt_model_free(m);
    m = (rnnrt_model*)&m;
    bad = o;
    bad.backend = "no-such-backend";
    EXPECT(rnnrt_model_load_memory_ex(file.data, file.len, &bad, &m), RNNRT_BACKEND_UNAVAILABLE, "rnnrt_model_load_memory_ex", "no-such-backend");
    EXPECT(rnnrt_model_load_ex(path, &o, NULL), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_ex", "out is NULL");
    EXPECT(rnnrt_model_load_ex(NULL, &o, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_ex", "path is NULL");
    EXPECT(rnnrt_model_load_ex("/nonexistent/net.safetensors", &o, &m), RNNRT_IO, "rnnrt_model_load_ex", "net.safetensors");

    /* From a file, with the options, and a network that carries its own layer list. */
    m = NULL;
    OK(rnnrt_model_load_ex(path, &o, &m));
    rnnrt_model_free(m);
    snprintf(path, sizeof path, "%s/net_denoiser.safetensors", g_fixtures);
    m = NULL;
    OK(rnnrt_model_load_ex(path, NULL, &m));
    info.struct_size = sizeof info;
    OK(rnnrt_model_info(m, &info));
    CHECK(info.layer_count == 6 && info.input_size == 42 && info.output_size == 22 && info.state_size == 24 + 48,
          "denoiser: layers %d input %d output %d state %d", info.layer_count, info.input_size, info.output_size, info.state_size);
    rnnrt_model_free(m);
    free(file.data);
}

static void test_bad_load(void) {
    rnnrt_model* m = (rnnrt_model*)&m; /* must come back NULL on failure */
    EXPECT(rnnrt_model_load(NULL, NULL, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load", "path is NULL");
    CHECK(m == NULL, "*out not NULL after a failed load");
    EXPECT(rnnrt_model_load("x.safetensors", NULL, NULL), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load", "out is NULL");
    EXPECT(rnnrt_model_load("", NULL, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load", "path is empty");
    EXPECT(rnnrt_model_load("/nonexistent/dir/missing-model.safetensors", NULL, &m), RNNRT_IO, "rnnrt_model_load", "missing-model.safetensors");
    EXPECT(rnnrt_model_load(g_tmpdir, NULL, &m), RNNRT_IO, "rnnrt_model_load", g_tmpdir);
    /* UTF-8 goes through both ways; an overlong message is cut on a character boundary, with "...". */
    EXPECT(rnnrt_model_load("/nonexistent/mod\xc3\xa8le-\xe6\xa8\xa1\xe5\x9e\x8b.safetensors", NULL, &m), RNNRT_IO, "rnnrt_model_load",
           "mod\xc3\xa8le-\xe6\xa8\xa1\xe5\x9e\x8b.safetensors");
    char long_path[3000];
    strcpy(long_path, "/nonexistent/");
    for (size_t i = strlen(long_path); i < 2600; i += 3) memcpy(long_path + i, "\xe6\xa8\xa1", 3); /* a 3-byte character */
    strcpy(long_path + 2602, ".st");
    EXPECT(rnnrt_model_load(long_path, NULL, &m), RNNRT_IO, "rnnrt_model_load", "/nonexistent/\xe6\xa8\xa1");
    {
        const char* msg = rnnrt_last_error();
        size_t len = strlen(msg);
        CHECK(len < 1024 && len > 900, "overlong message is %zu bytes", len);
        CHECK(len >= 3 && strcmp(msg + len - 3, "...") == 0, "overlong message does not end in ...");
        /* No torn character before the "...": the bytes before it end a whole UTF-8 sequence. */
        size_t end = len - 3, start = end;
        while (start > 0 && ((unsigned char)msg[start - 1] & 0xC0) == 0x80) start--;
        CHECK(start > 0 && end - (start - 1) == 3 && (unsigned char)msg[start - 1] == 0xE6, "the cut tore a character");
    }
    EXPECT(rnnrt_model_load_memory(NULL, 100, NULL, &m), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory", "data is NULL");
    EXPECT(rnnrt_model_load_memory("x", 1, NULL, NULL), RNNRT_INVALID_ARGUMENT, "rnnrt_model_load_memory", "out is NULL");

    /* Malformed bytes. */
    EXPECT(rnnrt_model_load_memory("abc", 3, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory", "8-byte header length");
    unsigned char huge[16] = { 0xff, 0xff, 0, 0, 0, 0, 0, 0, '{', '}' };
    EXPECT(rnnrt_model_load_memory(huge, sizeof huge, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory", "header length");
    unsigned char not_json[16] = { 8, 0, 0, 0, 0, 0, 0, 0, '{', 'n', 'o', 'p', 'e', ' ', ' ', ' ' };
    EXPECT(rnnrt_model_load_memory(not_json, sizeof not_json, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory", "JSON");
    CHECK(m == NULL, "*out not NULL after a failed load");

    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1);
    bytes b = model_bytes(&spec);
    /* Truncated: the data section ends early. */
    EXPECT(rnnrt_model_load_memory(b.data, b.len - 10, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory", "bias_hh_l0");
    /* A shape that does not fit: weight_hh with the wrong row count. */
    spec.t[1].shape[0] = 17;
    bytes bad = model_bytes(&spec);
    EXPECT(rnnrt_model_load_memory(bad.data, bad.len, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load_memory", "weight_hh_l0");
    spec.t[1].shape[0] = 18;
    /* A malformed file on disk: rnnrt_model_load says FORMAT, not IO. */
    char path[4200];
    snprintf(path, sizeof path, "%s/truncated.safetensors", g_tmpdir);
    FILE* f = fopen(path, "wb");
    fwrite(b.data, 1, 5, f);
    fclose(f);
    EXPECT(rnnrt_model_load(path, NULL, &m), RNNRT_FORMAT, "rnnrt_model_load", "header length");
    remove(path);

    /* Unknown or unavailable backends. */
    EXPECT(rnnrt_model_load_memory(b.data, b.len, "nope", &m), RNNRT_BACKEND_UNAVAILABLE, "rnnrt_model_load_memory", "unknown backend 'nope'");
    CHECK(m == NULL, "*out not NULL after a failed load");
    free(bad.data);
    free(b.data);
    free_model_spec(&spec);
}

static void test_bad_arguments(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1);
    rnnrt_model* m = load_spec(&spec, NULL);
    struct rnnrt_model_info info;
    EXPECT(rnnrt_model_info(m, NULL), RNNRT_INVALID_ARGUMENT, "rnnrt_model_info", "out is NULL");
    info.struct_size = 0;
    EXPECT(rnnrt_model_info(m, &info), RNNRT_INVALID_ARGUMENT, "rnnrt_model_info", "struct_size is 0");

    rnnrt_session* s = (rnnrt_session*)&s;
    EXPECT(rnnrt_session_create(m, 0, &s), RNNRT_INVALID_ARGUMENT, "rnnrt_session_create", "batch is 0; expected 1..65536");
    CHECK(s == NULL, "*out not NULL after a failed create");
    EXPECT(rnnrt_session_create(m, -3, &s), RNNRT_INVALID_ARGUMENT, "rnnrt_session_create", "batch is -3; expected 1..65536");
    EXPECT(rnnrt_session_create(m, 1 << 20, &s), RNNRT_INVALID_ARGUMENT, "rnnrt_session_create", "batch is 1048576; expected 1..65536");
    EXPECT(rnnrt_session_create(m, 1, NULL), RNNRT_INVALID_ARGUMENT, "rnnrt_session_create", "out is NULL");

    OK(rnnrt_session_create(m, 2, &s));
    float x[8], y[12], y_before[12], state[12], state_before[12];
    fill(x, 8, 1.0f);
    OK(rnnrt_session_step(s, x, 8, y, 12));
    OK(rnnrt_session_get_state(s, state_before, 12));
    memcpy(y_before, y, sizeof y);

    EXPECT(rnnrt_session_step(s, x, 7, y, 12), RNNRT_SHAPE_MISMATCH, "rnnrt_session_step", "x has 7 floats; expected 8");
    EXPECT(rnnrt_session_step(s, x, 8, y, 13), RNNRT_SHAPE_MISMATCH, "rnnrt_session_step", "y has 13 floats; expected 12");
    EXPECT(rnnrt_session_step(s, NULL, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "x is NULL");
    EXPECT(rnnrt_session_step(s, x, 8, NULL, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "y is NULL");
    EXPECT(rnnrt_session_step(s, NULL, 0, y, 12), RNNRT_SHAPE_MISMATCH, "rnnrt_session_step", "x has 0 floats");
    EXPECT(rnnrt_session_step(s, x, (size_t)-1, y, 12), RNNRT_SHAPE_MISMATCH, "rnnrt_session_step", "expected 8");
    x[5] = NAN;
    EXPECT(rnnrt_session_step(s, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "x[5] is NaN");
    x[5] = INFINITY;
    EXPECT(rnnrt_session_step(s, x, 8, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "finite");
    x[5] = 0.25f;
    float overlap[20] = { 0 };
    EXPECT(rnnrt_session_step(s, overlap, 8, overlap + 4, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "overlap");
    /* None of that touched y or the state. */
    CHECK(memcmp(y, y_before, sizeof y) == 0, "a failed step wrote y");
    OK(rnnrt_session_get_state(s, state, 12));
    CHECK(memcmp(state, state_before, sizeof state) == 0, "a failed step changed the state");

    float xs[3 * 8], ys[3 * 12];
    fill(xs, 24, 1.0f);
    EXPECT(rnnrt_session_run(s, xs, 3, ys, 35), RNNRT_SHAPE_MISMATCH, "rnnrt_session_run", "ys has 35 floats; expected 36");
    EXPECT(rnnrt_session_run(s, NULL, 3, ys, 36), RNNRT_INVALID_ARGUMENT, "rnnrt_session_run", "xs is NULL");
    EXPECT(rnnrt_session_run(s, xs, 3, NULL, 36), RNNRT_INVALID_ARGUMENT, "rnnrt_session_run", "ys is NULL");
    EXPECT(rnnrt_session_run(s, xs, (size_t)1 << 40, ys, 36), RNNRT_INVALID_ARGUMENT, "rnnrt_session_run", "steps is 1099511627776");
    xs[17] = NAN;
    EXPECT(rnnrt_session_run(s, xs, 3, ys, 36), RNNRT_INVALID_ARGUMENT, "rnnrt_session_run", "xs[17] is NaN");

    EXPECT(rnnrt_session_get_state(s, state, 11), RNNRT_SHAPE_MISMATCH, "rnnrt_session_get_state", "expected 12");
    EXPECT(rnnrt_session_get_state(s, NULL, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_get_state", "state is NULL");
    EXPECT(rnnrt_session_set_state(s, state, 13), RNNRT_SHAPE_MISMATCH, "rnnrt_session_set_state", "expected 12");
    EXPECT(rnnrt_session_set_state(s, NULL, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_set_state", "state is NULL");
    state[3] = NAN;
    EXPECT(rnnrt_session_set_state(s, state, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_set_state", "state[3] is NaN");
    OK(rnnrt_session_get_state(s, state, 12));
    CHECK(memcmp(state, state_before, sizeof state) == 0, "failed calls changed the state");

    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

static void test_step_on_bidirectional(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 2);
    rnnrt_model* m = load_spec(&spec, NULL);
    rnnrt_session* s = NULL;
    OK(rnnrt_session_create(m, 1, &s));
    float x[4] = { 0.1f, 0.2f, 0.3f, 0.4f }, y[12];
    EXPECT(rnnrt_session_step(s, x, 4, y, 12), RNNRT_INVALID_ARGUMENT, "rnnrt_session_step", "bidirectional");
    CHECK(strstr(rnnrt_last_error(), "Run") != NULL, "the message should point to run: %s", rnnrt_last_error());
    float ys[2 * 12], xs[8] = { 0 };
    OK(rnnrt_session_run(s, xs, 2, ys, 24));
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

static void test_bad_handles(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1);
    rnnrt_model* m = load_spec(&spec, NULL);
    rnnrt_session* s = NULL;
    OK(rnnrt_session_create(m, 1, &s));
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    float x[4] = { 0 }, y[6], state[6];

    /* NULL. */
    EXPECT(rnnrt_model_info(NULL, &info), RNNRT_INVALID_HANDLE, "rnnrt_model_info", "model is NULL");
    EXPECT(rnnrt_session_create(NULL, 1, &s), RNNRT_INVALID_HANDLE, "rnnrt_session_create", "model is NULL");
    OK(rnnrt_session_create(m, 1, &s));
    EXPECT(rnnrt_session_step(NULL, x, 4, y, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_step", "session is NULL");
    EXPECT(rnnrt_session_run(NULL, x, 1, y, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_run", "session is NULL");
    EXPECT(rnnrt_session_reset(NULL), RNNRT_INVALID_HANDLE, "rnnrt_session_reset", "session is NULL");
    EXPECT(rnnrt_session_get_state(NULL, state, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_get_state", "session is NULL");
    EXPECT(rnnrt_session_set_state(NULL, state, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_set_state", "session is NULL");
    rnnrt_model_free(NULL);   /* fine, and not an error */
    rnnrt_session_free(NULL);

    /* The wrong kind: a session where a model goes, and the other way round. */
    EXPECT(rnnrt_model_info((rnnrt_model*)s, &info), RNNRT_INVALID_HANDLE, "rnnrt_model_info", "is a session handle, not a model handle");
    EXPECT(rnnrt_session_step((rnnrt_session*)m, x, 4, y, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_step", "is a model handle, not a session handle");
    rnnrt_model_free((rnnrt_model*)s);
    expect_reported(__LINE__, "model_free(session)", "rnnrt_model_free", "not a model handle");
    OK(rnnrt_session_step(s, x, 4, y, 6)); /* ... and the session survived that */

    /* Garbage the library never handed out: small integers, stack and heap pointers, all-ones. */
    int local = 0;
    void* heap = malloc(64);
    memset(heap, 0xab, 64);
    void* garbage[] = { (void*)(uintptr_t)1, (void*)(uintptr_t)0x1234, &local, heap, (void*)~(uintptr_t)0, (void*)(uintptr_t)0x524E000000000001ull };
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        EXPECT(rnnrt_model_info((rnnrt_model*)garbage[i], &info), RNNRT_INVALID_HANDLE, "rnnrt_model_info", "not a model handle");
        EXPECT(rnnrt_session_step((rnnrt_session*)garbage[i], x, 4, y, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_step", "not a session handle");
        rnnrt_session_free((rnnrt_session*)garbage[i]);
        expect_reported(__LINE__, "session_free(garbage)", "rnnrt_session_free", "not a session handle");
        rnnrt_model_free((rnnrt_model*)garbage[i]);
        expect_reported(__LINE__, "model_free(garbage)", "rnnrt_model_free", "not a model handle");
    }
    free(heap);

    /* Freed handles and double frees. */
    rnnrt_session_free(s);
    rnnrt_session* freed_session = s;
    EXPECT(rnnrt_session_step(s, x, 4, y, 6), RNNRT_INVALID_HANDLE, "rnnrt_session_step", "already freed");
    EXPECT(rnnrt_session_reset(s), RNNRT_INVALID_HANDLE, "rnnrt_session_reset", "already freed");
    rnnrt_session_free(s);
    expect_reported(__LINE__, "double session free", "rnnrt_session_free", "already freed");
    rnnrt_model_free(m);
    EXPECT(rnnrt_model_info(m, &info), RNNRT_INVALID_HANDLE, "rnnrt_model_info", "already freed");
    EXPECT(rnnrt_session_create(m, 1, &s), RNNRT_INVALID_HANDLE, "rnnrt_session_create", "already freed");
    rnnrt_model_free(m);
    expect_reported(__LINE__, "double model free", "rnnrt_model_free", "already freed");
    /* A freed session handle passed as a model. */
    EXPECT(rnnrt_model_info((rnnrt_model*)freed_session, &info), RNNRT_INVALID_HANDLE, "rnnrt_model_info", "freed session handle");

    /* A new object does not revive an old handle even if it gets the same slot. */
    rnnrt_model* again = load_spec(&spec, NULL);
    EXPECT(rnnrt_model_info(m, &info), RNNRT_INVALID_HANDLE, "rnnrt_model_info", "already freed");
    CHECK(again != m, "a new model got the freed handle's value");
    rnnrt_model_free(again);
    free_model_spec(&spec);
}

/* Freeing the model first: its sessions keep working, and everything is released when they go. */
static void test_model_freed_before_sessions(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1);
    rnnrt_model* m = load_spec(&spec, NULL);
    rnnrt_session *a = NULL, *b = NULL;
    OK(rnnrt_session_create(m, 1, &a));
    OK(rnnrt_session_create(m, 1, &b));
    float x[4] = { 0.5f, -0.5f, 0.25f, 1 }, ya[6], yb[6];
    rnnrt_model_free(m);
    OK(rnnrt_session_step(a, x, 4, ya, 6));
    rnnrt_session_free(a);
    OK(rnnrt_session_step(b, x, 4, yb, 6));
    CHECK(memcmp(ya, yb, sizeof ya) == 0, "two sessions of a freed model disagree");
    /* Every call keeps working, not only step: the session holds the model's resources. */
    float state[6], ys[2 * 6], xs[2 * 4] = { 0.5f, -0.5f, 0.25f, 1, 0, 0.125f, -1, 0.75f };
    OK(rnnrt_session_get_state(b, state, 6));
    OK(rnnrt_session_reset(b));
    OK(rnnrt_session_set_state(b, state, 6));
    OK(rnnrt_session_run(b, xs, 2, ys, 2 * 6));
    EXPECT(rnnrt_session_create(m, 1, &a), RNNRT_INVALID_HANDLE, "rnnrt_session_create", "already freed");
    rnnrt_session_free(b);
    free_model_spec(&spec);
}

/* One model, one session per thread, all at once: every thread gets the single-threaded answer. */
typedef struct {
    rnnrt_model* model;
    const float* xs;
    int steps, in, out;
    float* ys;
    int failures;
} worker_arg;

static void* worker(void* p) {
    worker_arg* w = p;
    rnnrt_session* s = NULL;
    if (rnnrt_session_create(w->model, 1, &s) != RNNRT_OK) { w->failures++; return NULL; }
    for (int t = 0; t < w->steps; t++)
        if (rnnrt_session_step(s, w->xs + t * w->in, (size_t)w->in, w->ys + t * w->out, (size_t)w->out) != RNNRT_OK) w->failures++;
    rnnrt_session_free(s);
    return NULL;
}

static void test_threads_share_a_model(void) {
    enum { THREADS = 4, STEPS = 50 };
    model_spec spec;
    make_model(&spec, 4, 8, 16, 2, 1);
    rnnrt_model* m = load_spec(&spec, NULL);
    float xs[STEPS * 8];
    fill(xs, STEPS * 8, 1.0f);
    static float ys[THREADS + 1][STEPS * 16];
    worker_arg args[THREADS + 1];
    for (int i = 0; i <= THREADS; i++) args[i] = (worker_arg){ m, xs, STEPS, 8, 16, ys[i], 0 };
    worker(&args[THREADS]);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, &args[i]);
    for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < THREADS; i++) {
        CHECK(args[i].failures == 0, "thread %d: %d failed calls", i, args[i].failures);
        CHECK(memcmp(ys[i], ys[THREADS], sizeof ys[i]) == 0, "thread %d got different outputs", i);
    }
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

/* A session used from two threads at once: the second call is refused, not run; a free from another
 * thread waits for the running call instead of pulling the state from under it. */
typedef struct {
    rnnrt_session* s;
    const float* xs;
    float* ys;
    size_t steps, ys_len;
    int started, done;
    rnnrt_status st;
    char msg[512];
} runner;

static void* run_long(void* p) {
    runner* r = p;
    __atomic_store_n(&r->started, 1, __ATOMIC_SEQ_CST);
    r->st = rnnrt_session_run(r->s, r->xs, r->steps, r->ys, r->ys_len);
    snprintf(r->msg, sizeof r->msg, "%s", r->st == RNNRT_OK ? "" : rnnrt_last_error());
    __atomic_store_n(&r->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void test_session_used_by_two_threads(void) {
    enum { STEPS = 400, IN = 16, HID = 64 };
    model_spec spec;
    make_model(&spec, 3, IN, HID, 1, 1);
    rnnrt_model* m = load_spec(&spec, "reference");
    float* xs = malloc(sizeof(float) * STEPS * IN);
    float* ys = malloc(sizeof(float) * STEPS * HID);
    fill(xs, STEPS * IN, 1.0f);
    rnnrt_session* s = NULL;
    OK(rnnrt_session_create(m, 1, &s));
    int refused = 0;
    for (int attempt = 0; attempt < 20 && !refused; attempt++) {
        runner r = { s, xs, ys, STEPS, STEPS * HID, 0, 0, RNNRT_OK, "" };
        pthread_t t;
        pthread_create(&t, NULL, run_long, &r);
        while (!__atomic_load_n(&r.started, __ATOMIC_SEQ_CST)) sched_yield();
        while (!__atomic_load_n(&r.done, __ATOMIC_SEQ_CST)) {
            rnnrt_status st = rnnrt_session_reset(s);
            if (st == RNNRT_INVALID_ARGUMENT && strstr(rnnrt_last_error(), "in use by another thread")) { refused = 1; break; }
            CHECK(st == RNNRT_OK, "concurrent reset: %s %s", status_name(st), rnnrt_last_error());
        }
        pthread_join(t, NULL);
        /* The refusal may hit either side: the run, when a reset held the session as it came in. */
        if (r.st == RNNRT_INVALID_ARGUMENT && strstr(r.msg, "in use by another thread")) refused = 1;
        else CHECK(r.st == RNNRT_OK, "the run beside it failed: %s %s", status_name(r.st), r.msg);
    }
    CHECK(refused, "a call on a session busy in another thread was never refused");

    /* Free while another thread runs: either the run finished first or it was never let in. */
    runner r = { s, xs, ys, STEPS, STEPS * HID, 0, 0, RNNRT_OK, "" };
    pthread_t t;
    pthread_create(&t, NULL, run_long, &r);
    while (!__atomic_load_n(&r.started, __ATOMIC_SEQ_CST)) sched_yield();
    rnnrt_session_free(s);
    pthread_join(t, NULL);
    CHECK(r.st == RNNRT_OK || (r.st == RNNRT_INVALID_HANDLE && strstr(r.msg, "freed")), "run during free: %s %s", status_name(r.st), r.msg);
    EXPECT(rnnrt_session_reset(s), RNNRT_INVALID_HANDLE, "rnnrt_session_reset", "already freed");
    rnnrt_model_free(m);
    free(xs);
    free(ys);
    free_model_spec(&spec);
}

static void test_many_handles(void) {
    /* Enough create/free cycles to reuse slots and grow the table; stale handles stay stale. */
    model_spec spec;
    make_model(&spec, 1, 2, 3, 1, 1);
    rnnrt_model* m = load_spec(&spec, "reference");
    rnnrt_session* first = NULL;
    OK(rnnrt_session_create(m, 1, &first));
    rnnrt_session_free(first);
    rnnrt_session* live[300];
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < 300; i++) OK(rnnrt_session_create(m, 1, &live[i]));
        for (int i = 0; i < 300; i++) CHECK(live[i] != first, "a new session reused a freed handle value");
        for (int i = 0; i < 300; i++) rnnrt_session_free(live[i]);
    }
    EXPECT(rnnrt_session_reset(first), RNNRT_INVALID_HANDLE, "rnnrt_session_reset", "already freed");
    EXPECT(rnnrt_session_reset(live[7]), RNNRT_INVALID_HANDLE, "rnnrt_session_reset", "already freed");
    rnnrt_model_free(m);
    free_model_spec(&spec);
}

/* The instruction set of the build must reach the kernels: in the x86-64-v3 build the avx2 backend
 * must be available (and be what "auto" picks over reference), in the v4 build avx512 as well.
 * A backend this runtime does not have yet ("unknown backend") is a skip, not a pass. */
static void check_isa_backend(const char* backend, const char* test) {
    model_spec spec;
    make_model(&spec, 3, 8, 16, 1, 1);
    bytes b = model_bytes(&spec);
    rnnrt_model* m = NULL;
    g_test_name = test;
    g_test_failures = 0;
    rnnrt_status st = rnnrt_model_load_memory(b.data, b.len, backend, &m);
    if (st == RNNRT_BACKEND_UNAVAILABLE && strstr(rnnrt_last_error(), "unknown backend")) {
        skip_test(test, "this runtime has no such backend yet");
    } else {
        CHECK(st == RNNRT_OK, "backend %s does not load in %s: %s: %s", backend, mapped_build(), status_name(st), rnnrt_last_error());
        if (st == RNNRT_OK) {
            struct rnnrt_model_info info;
            info.struct_size = sizeof info;
            OK(rnnrt_model_info(m, &info));
            CHECK(strcmp(info.backend, backend) == 0, "asked for %s, got %s", backend, info.backend);
            CHECK(strcmp(g_auto_backend, "reference") != 0, "\"auto\" picked reference although %s runs here", backend);
        }
        rnnrt_model_free(m);
        if (g_test_failures) { g_failed++; fprintf(stderr, "FAILED %s\n", test); }
        else { g_passed++; fprintf(stderr, "ok     %s\n", test); }
    }
    free(b.data);
    free_model_spec(&spec);
}

static void run_isa_backend_tests(void) {
    const char* build = mapped_build();
#if defined(__x86_64__)
    check_isa_backend("sse", "the sse backend runs in every x86-64 build");
#endif
    if (strstr(build, "_v3") || strstr(build, "_v4")) check_isa_backend("avx2", "the avx2 backend runs in the x86-64-v3/v4 build");
    if (strstr(build, "_v4")) check_isa_backend("avx512", "the avx512 backend runs in the x86-64-v4 build");
}

/*-------------------------------------------------------------------------------------------------
 * Loader checks, run by native.sh in a doctored environment.
 *-----------------------------------------------------------------------------------------------*/
static const char* g_expect_text;

static void test_loader_unavailable(void) {
    rnnrt_model* m = (rnnrt_model*)&m;
    rnnrt_session* s = (rnnrt_session*)&s;
    struct rnnrt_model_info info;
    info.struct_size = sizeof info;
    float v[4] = { 0 };
    CHECK(rnnrt_version() == RNNRT_VERSION_NUMBER, "rnnrt_version() must still answer");
#define UNAVAILABLE(call) do { rnnrt_status st_ = (call); \
    CHECK(st_ == RNNRT_BACKEND_UNAVAILABLE, "%s returned %s", #call, status_name(st_)); \
    CHECK(strstr(rnnrt_last_error(), g_expect_text) != NULL, "%s: message lacks \"%s\": %s", #call, g_expect_text, rnnrt_last_error()); } while (0)
    UNAVAILABLE(rnnrt_model_load("model.safetensors", NULL, &m));
    CHECK(m == NULL, "*out not NULL");
    UNAVAILABLE(rnnrt_model_load_memory(v, sizeof v, NULL, &m));
    UNAVAILABLE(rnnrt_model_info(m, &info));
    struct rnnrt_layer_info layer;
    layer.struct_size = sizeof layer;
    UNAVAILABLE(rnnrt_model_layer_info(m, 0, &layer));
    UNAVAILABLE(rnnrt_session_create(m, 1, &s));
    CHECK(s == NULL, "*out not NULL");
    UNAVAILABLE(rnnrt_session_step(s, v, 4, v, 4));
    UNAVAILABLE(rnnrt_session_run(s, v, 1, v, 4));
    UNAVAILABLE(rnnrt_session_reset(s));
    UNAVAILABLE(rnnrt_session_get_state(s, v, 4));
    UNAVAILABLE(rnnrt_session_set_state(s, v, 4));
#undef UNAVAILABLE
    /* Needs no build: the loader names the codes itself. */
    check_status_names(rnnrt_status_string, "rnnrt_status_string without a build");
    rnnrt_session_free(s);
    rnnrt_model_free(m);
    fprintf(stderr, "       message: %s\n", rnnrt_last_error());
}

static void test_loader_isa(void) {
    model_spec spec;
    make_model(&spec, 3, 4, 6, 1, 1);
    rnnrt_model* m = load_spec(&spec, NULL);
    rnnrt_model_free(m);
    free_model_spec(&spec);
    char want[64];
    snprintf(want, sizeof want, "librnnrt_%s.so", g_expect_text);
    FILE* maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (maps && fgets(line, sizeof line, maps)) if (strstr(line, want)) found = 1;
    if (maps) fclose(maps);
    CHECK(found, "%s is not mapped", want);
}

/* The file of the build the loader mapped, from /proc/self/maps; 0 if none. */
static int mapped_build_path(char* path, size_t size) {
    FILE* maps = fopen("/proc/self/maps", "r");
    char line[4096];
    int found = 0;
    while (!found && maps && fgets(line, sizeof line, maps)) {
        char* file = strchr(line, '/');
        if (!file || (!strstr(file, "/librnnrt_v3.so") && !strstr(file, "/librnnrt_v4.so"))) continue;
        file[strcspn(file, "\n")] = '\0';
        snprintf(path, size, "%s", file);
        found = 1;
    }
    if (maps) fclose(maps);
    return found;
}

/* Which build the loader mapped, from /proc/self/maps. */
static const char* mapped_build(void) {
    FILE* maps = fopen("/proc/self/maps", "r");
    char line[4096];
    const char* which = "unknown";
    while (maps && fgets(line, sizeof line, maps)) {
        if (strstr(line, "librnnrt_v4.so")) which = "librnnrt_v4.so (x86-64-v4)";
        else if (strstr(line, "librnnrt_v3.so")) which = "librnnrt_v3.so (x86-64-v3)";
    }
    if (maps) fclose(maps);
    return which;
}

int main(int argc, char** argv) {
    int arg = 1;
    if (arg < argc && strcmp(argv[arg], "--expect-unavailable") == 0 && arg + 1 < argc) {
        g_expect_text = argv[arg + 1];
        run_test("loader: every call reports the missing build", test_loader_unavailable);
        printf("c-tests: %d passed, %d failed, %d skipped\n", g_passed, g_failed, g_skipped);
        return g_failed ? 1 : 0;
    }
    if (arg < argc && strcmp(argv[arg], "--expect-isa") == 0 && arg + 1 < argc) {
        g_expect_text = argv[arg + 1];
        run_test("loader: RNNRT_ISA picks the build", test_loader_isa);
        printf("c-tests: %d passed, %d failed, %d skipped\n", g_passed, g_failed, g_skipped);
        return g_failed ? 1 : 0;
    }
    if (arg < argc && strcmp(argv[arg], "--quick") == 0) { g_quick = 1; arg++; }
    snprintf(g_fixtures, sizeof g_fixtures, "%s", arg < argc ? argv[arg] : "Runtime.Tests/Fixtures");

    char tmpl[] = "/tmp/rnnrt-test-XXXXXX";
    g_tmpdir = mkdtemp(tmpl);
    if (!g_tmpdir) { perror("mkdtemp"); return 2; }

    run_test("rnnrt_version matches the header", test_version);
    run_test("rnnrt_last_error is per thread, never NULL", test_last_error_is_per_thread);
    run_test("rnnrt_status_string names every code, loader and build alike", test_status_string);
    run_test("rnnrt_model_info reports shape and backend", test_model_info);
    run_test("rnnrt_model_load from a file", test_load_file);
    run_test("rnnrt_model_layer_info describes every layer of a network", test_layer_info);
    run_test("step and run match a C GRU", test_step_and_run_match_reference);
    run_test("get_state/set_state/reset", test_state_roundtrip_and_reset);
    run_test("get_state_slot/set_state_slot/reset_slot", test_state_slots);
    run_test("step_active: some slots, as if stepped alone", test_step_active);
    run_test("bad loads: NULL, missing, directory, malformed, unknown backend", test_bad_load);
    run_test("rnnrt_model_load_ex: options, layer lists, struct sizes", test_load_ex);
    run_test("torch.save files: a state_dict loads, a whole module is RNNRT_FORMAT with advice", test_torch_save_files);
    run_test("bad arguments: lengths, NULL buffers, NaN, overlap, batch", test_bad_arguments);
    run_test("step on a bidirectional model", test_step_on_bidirectional);
    run_test("bad handles: NULL, wrong kind, garbage, freed, double free", test_bad_handles);
    run_test("model freed before its sessions", test_model_freed_before_sessions);
    run_test("threads share one model", test_threads_share_a_model);
    run_test("handle reuse keeps stale handles stale", test_many_handles);
    run_test("a session used by two threads at once", test_session_used_by_two_threads);
    run_isa_backend_tests();
    run_fixture_tests();
    rmdir(g_tmpdir);

    printf("library: %s; backend \"auto\" resolved to: %s; worst fixture |y - torch|: %.2e\n", mapped_build(), g_auto_backend, g_worst_fixture_dev);
    printf("c-tests: %d passed, %d failed, %d skipped\n", g_passed, g_failed, g_skipped);
    return g_failed ? 1 : 0;
}
