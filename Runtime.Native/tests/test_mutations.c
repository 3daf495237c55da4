/*
 * The loader's contract through the C library, under hostile input: seeded mutations of every
 * *.safetensors file in the fixtures directory go through rnnrt_model_load_memory, and each must
 * return RNNRT_OK (then the model is freed) or RNNRT_FORMAT with a message that names the function;
 * any other status, an empty message or a model handed out on failure fails the test.
 *
 *   test_mutations [FIXTURES_DIR]       default Runtime.Tests/Fixtures
 *
 * Environment: RNNRT_MUTATIONS (cases per file, default 150; native.sh uses a handful under
 * valgrind), RNNRT_MUTATION_SEED (default 20261202). A failure prints seed, file, case number and
 * the mutations made, and RNNRT_MUTATION_CASE=FILE:N reruns that case alone.
 * Last line: "c-tests: N passed, F failed, S skipped".
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rnnrt.h"

typedef struct { unsigned char* data; size_t len; } bytes;

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

/* xorshift64*, one stream per (seed, file, case) so that any case reruns alone. */
static uint64_t g_state;
static uint64_t next(void) {
    g_state ^= g_state >> 12; g_state ^= g_state << 25; g_state ^= g_state >> 27;
    return g_state * 2685821657736338717ull;
}
static size_t below(size_t n) { return n ? (size_t)(next() % n) : 0; }
static void seed_case(uint32_t seed, const char* name, int index) {
    uint64_t h = 1469598103934665603ull;
    for (const char* p = name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ seed) * 1099511628211ull;
    h = (h ^ (uint32_t)index) * 1099511628211ull;
    g_state = h ? h : 1;
}

static uint64_t get_u64(const unsigned char* p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static void put_u64(unsigned char* p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i)); }

/* The header's extent as the file says, clamped to the file. */
static size_t header_span(const bytes* b) {
    if (b->len < 8) return 0;
    uint64_t h = get_u64(b->data);
    return h > b->len - 8 ? b->len - 8 : (size_t)h;
}

/* A position, mostly in the 8-byte length or the header. */
static size_t position(const bytes* b) {
    size_t h = header_span(b);
    return below(100) < 85 ? below(8 + h < b->len ? 8 + h : b->len) : below(b->len);
}

/* Replaces [at, at + cut) of the header with text and fixes the header length. */
static void splice_header(bytes* b, size_t at, size_t cut, const char* text) {
    if (b->len < 8) return;
    size_t h = header_span(b), add = strlen(text);
    if (at > 8 + h) at = 8 + h;
    if (at + cut > 8 + h) cut = 8 + h - at;
    bytes n;
    n.len = b->len - cut + add;
    n.data = malloc(n.len ? n.len : 1);
    memcpy(n.data, b->data, at);
    memcpy(n.data + at, text, add);
    memcpy(n.data + at + add, b->data + at + cut, b->len - at - cut);
    put_u64(n.data, (uint64_t)(h - cut + add));
    free(b->data);
    *b = n;
}

/* Offset of the next byte c in the header at or after `from`, or 0. */
static size_t find_in_header(const bytes* b, size_t from, unsigned char c) {
    size_t end = 8 + header_span(b);
    for (size_t i = from; i < end; i++) if (b->data[i] == c) return i;
    return 0;
}

static const unsigned char interesting[] = { 0x00, 0x01, 0x0A, 0x1F, 0x20, 0x22, 0x2C, 0x2D, 0x30, 0x39, 0x3A, 0x5B, 0x5C,
    0x5D, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC3, 0xE0, 0xED, 0xF0, 0xF4, 0xF5, 0xFF };
static const char* const inserts[] = { "\\ud800", "\\udfff", "\\ud800\\u0041", "\\u0000", "\xc3\xa9", "\xff", "\xed\xa0\x80", "\\x" };
static const char* const numbers[] = { "-1", "1e400", "18446744073709551616", "9223372036854775808", "4294967296", "1.5",
    "99999999999999999999999999999999", "65537", "0" };
static const char* const keys[] = { "\"dtype\":\"F32\",", "\"dtype\":\"F64\",", "\"shape\":[1],", "\"data_offsets\":[0,4],",
    "\"__metadata__\":{\"nonlinearity\":\"relu\"},", "\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"},", "\"x\":[[[[[[[[[[1]]]]]]]]]],",
    "\"weight_hh_l0\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]}," };

/* One mutation; appends what it did to `what`. */
static void mutate_once(bytes* b, char* what, size_t what_size) {
    size_t used = strlen(what);
    char* w = what + used;
    size_t room = what_size - used;
    if (b->len == 0) return;
    switch (below(9)) {
    case 0: { size_t p = position(b); int bit = (int)below(8); b->data[p] ^= (unsigned char)(1u << bit); snprintf(w, room, "flip bit %d of byte %zu; ", bit, p); break; }
    case 1: { size_t p = position(b); unsigned char v = interesting[below(sizeof interesting)]; b->data[p] = v; snprintf(w, room, "byte %zu = 0x%02X; ", p, v); break; }
    case 2: { /* a byte inside a header string */
        size_t q = find_in_header(b, 8 + below(header_span(b)), '"');
        if (!q) goto flip;
        unsigned char v = (unsigned char)(0x80 + below(128));
        b->data[q + 1 < b->len ? q + 1 : q] = v;
        snprintf(w, room, "string byte %zu = 0x%02X; ", q + 1, v);
        break;
    }
    case 3: { size_t cut = below(3) ? below(8 + header_span(b) + 16 < b->len ? 8 + header_span(b) + 16 : b->len) : below(b->len); b->len = cut; snprintf(w, room, "truncate to %zu; ", cut); break; }
    case 4: {
        if (b->len < 8) goto flip;
        uint64_t h = get_u64(b->data);
        uint64_t vals[] = { 0, 1, 2, h - 1, h + 1, b->len - 8, b->len - 7, 0x7fffffffull, 0x80000000ull, 0xffffffffull, (1ull << 32) + h,
                            (100ull << 20) + 1, 0x7fffffffffffffffull, ~0ull };
        uint64_t v = vals[below(sizeof vals / sizeof vals[0])];
        put_u64(b->data, v);
        snprintf(w, room, "header length = %llu; ", (unsigned long long)v);
        break;
    }
    case 5: { /* an escape or raw bytes inserted into a string */
        size_t q = find_in_header(b, 8 + below(header_span(b)), '"');
        if (!q) goto flip;
        const char* s = inserts[below(sizeof inserts / sizeof inserts[0])];
        splice_header(b, q + 1, 0, s);
        snprintf(w, room, "insert string text at %zu; ", q + 1);
        break;
    }
    case 6: { /* a number replaced */
        size_t h = header_span(b), p = 8 + below(h), end = 8 + h;
        while (p < end && !(b->data[p] >= '0' && b->data[p] <= '9')) p++;
        if (p >= end) goto flip;
        size_t e = p;
        while (e < end && b->data[e] >= '0' && b->data[e] <= '9') e++;
        const char* n = numbers[below(sizeof numbers / sizeof numbers[0])];
        splice_header(b, p, e - p, n);
        snprintf(w, room, "number at %zu = %s; ", p, n);
        break;
    }
    case 7: { /* a key inserted after an opening brace: duplicates, odd values, deep nesting */
        size_t q = find_in_header(b, 8 + below(header_span(b)), '{');
        if (!q) q = find_in_header(b, 8, '{');
        if (!q) goto flip;
        const char* k = keys[below(sizeof keys / sizeof keys[0])];
        splice_header(b, q + 1, 0, k);
        snprintf(w, room, "insert key %s at %zu; ", k, q + 1);
        break;
    }
    default: flip: { size_t p = position(b); b->data[p] = (unsigned char)next(); snprintf(w, room, "random byte at %zu; ", p); break; }
    }
}

static int cmp_str(const void* a, const void* b) { return strcmp(*(const char* const*)a, *(const char* const*)b); }

int main(int argc, char** argv) {
    const char* dir = argc > 1 ? argv[1] : "Runtime.Tests/Fixtures";
    const char* env = getenv("RNNRT_MUTATIONS");
    int per_file = env ? atoi(env) : 150;
    env = getenv("RNNRT_MUTATION_SEED");
    uint32_t seed = env ? (uint32_t)strtoul(env, NULL, 10) : 20261202u;
    const char* only = getenv("RNNRT_MUTATION_CASE");

    DIR* d = opendir(dir);
    if (!d) {
        fprintf(stderr, "skip: no fixtures directory %s\n", dir);
        printf("c-tests: 0 passed, 0 failed, 1 skipped\n");
        return 0;
    }
    char* names[512];
    int n = 0;
    struct dirent* e;
    while ((e = readdir(d)) && n < 512) {
        size_t len = strlen(e->d_name);
        if (len > 12 && strcmp(e->d_name + len - 12, ".safetensors") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long total = 0, loaded = 0, rejected = 0, broken = 0;
    for (int f = 0; f < n; f++) {
        char path[4600];
        snprintf(path, sizeof path, "%s/%s", dir, names[f]);
        bytes original = read_file(path);
        int first = 0, last = per_file;
        if (only) {
            const char* colon = strrchr(only, ':');
            if (!colon || (size_t)(colon - only) != strlen(names[f]) || strncmp(only, names[f], (size_t)(colon - only)) != 0) { free(original.data); free(names[f]); continue; }
            first = atoi(colon + 1);
            last = first + 1;
        }
        for (int i = first; i < last && original.data; i++) {
            seed_case(seed, names[f], i);
            bytes b;
            b.len = original.len;
            b.data = malloc(b.len);
            memcpy(b.data, original.data, b.len);
            char what[2048] = "";
            int edits = 1 + (int)below(3);
            for (int k = 0; k < edits; k++) mutate_once(&b, what, sizeof what);

            rnnrt_model* m = (rnnrt_model*)&m;
            rnnrt_status st = rnnrt_model_load_memory(b.data, b.len, "reference", &m);
            const char* msg = rnnrt_last_error();
            total++;
            if (st == RNNRT_OK && m != NULL) {
                /* A model that loaded is usable: a session and, when unidirectional, one step. */
                struct rnnrt_model_info info;
                info.struct_size = sizeof info;
                rnnrt_session* s = NULL;
                rnnrt_status used = rnnrt_model_info(m, &info);
                if (used == RNNRT_OK) used = rnnrt_session_create(m, 1, &s);
                if (used == RNNRT_OK && info.num_directions == 1) {
                    float* x = calloc((size_t)info.input_size, sizeof(float));
                    float* y = calloc((size_t)info.output_size, sizeof(float));
                    used = rnnrt_session_step(s, x, (size_t)info.input_size, y, (size_t)info.output_size);
                    free(x);
                    free(y);
                }
                rnnrt_session_free(s);
                rnnrt_model_free(m);
                if (used == RNNRT_OK) loaded++;
                else {
                    broken++;
                    if (broken <= 20)
                        fprintf(stderr, "FAILED: RNNRT_MUTATION_SEED=%u RNNRT_MUTATION_CASE=%s:%d [%s]: loaded, but using it returned %d: %s\n",
                                seed, names[f], i, what, (int)used, rnnrt_last_error());
                }
                free(b.data);
                continue;
            }
            else if (st == RNNRT_FORMAT && m == NULL && strncmp(msg, "rnnrt_model_load_memory: ", 25) == 0 && msg[25] != '\0') rejected++;
            else {
                broken++;
                if (broken <= 20)
                    fprintf(stderr, "FAILED: RNNRT_MUTATION_SEED=%u RNNRT_MUTATION_CASE=%s:%d [%s]: status %d, model %p, message \"%s\"\n",
                            seed, names[f], i, what, (int)st, (void*)m, msg);
                if (st == RNNRT_OK && m) rnnrt_model_free(m);
            }
            free(b.data);
        }
        free(original.data);
        free(names[f]);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "%s mutated loads: %ld mutated files from %d fixtures in %.2f s: %ld loaded, %ld RNNRT_FORMAT with a message, %ld broke the contract (seed %u)\n",
            broken ? "FAILED" : "ok    ", total, n, seconds, loaded, rejected, broken, seed);
    int failed = broken > 0 || (total == 0 && !only);
    printf("c-tests: %d passed, %d failed, 0 skipped\n", failed ? 0 : 1, failed ? 1 : 0);
    return failed;
}
