/*
 * rnnrt.h - the C API of rnnrt, a runtime for trained recurrent networks: linear layers,
 * activations and Elman RNN, GRU and LSTM modules, in any order.
 * Copyright (c) 2026 the rnnrt authors. SPDX-License-Identifier: MIT (the LICENSE file).
 *
 * Load a PyTorch network saved as .safetensors (by rnnrt.save, with its layer list; or a plain
 * state_dict of one nn.RNN / nn.GRU / nn.LSTM, or of a whole network given its layer list), create a
 * session (the state of every recurrent module for one stream, or for a batch of B streams), then
 * push one frame at a time through rnnrt_session_step, or whole sequences through rnnrt_session_run.
 * The math is PyTorch's. rnnrt_model_info describes the whole network, rnnrt_model_layer_info each layer.
 *
 *     #include "rnnrt.h"
 *     rnnrt_model* m; rnnrt_session* s; float x[64], y[256];
 *     if (rnnrt_model_load("gru.safetensors", NULL, &m) != RNNRT_OK) puts(rnnrt_last_error());
 *     rnnrt_session_create(m, 1, &s);
 *     rnnrt_session_step(s, x, 64, y, 256);
 *     rnnrt_session_free(s); rnnrt_model_free(m);
 *
 * Link with -lrnnrt: `pkg-config --cflags --libs rnnrt`, or find_package(rnnrt) and the target
 * rnnrt::rnnrt in CMake, once `./build.sh install PREFIX` has installed it (librnnrt.so.X.Y.Z with
 * soname librnnrt.so.X, beside the builds librnnrt_v3.so.X.Y.Z and librnnrt_v4.so.X.Y.Z, see below).
 *
 * Conventions that hold for every function:
 * - Lengths are element counts (floats), never bytes, except `len` of rnnrt_model_load_memory.
 * - Tensors are dense row-major float32, shapes in PyTorch order: x [B, I], y [B, O],
 *   xs [steps, B, I], ys [steps, B, O]; the state is each recurrent module's h [L*D, B, H] followed,
 *   for an LSTM, by c [L*D, B, H], modules in network order. (B batch, I the network's input size,
 *   O its output size (D*H for a lone recurrent module), H hidden size, L layers, D directions: 1,
 *   or 2 when bidirectional.) An LSTM with a projection (PyTorch's proj_size P, tensors weight_hr_l{k})
 *   has h [L*D, B, P] and c [L*D, B, H], and outputs D*P floats per item: read H for P in h and y.
 * - Every function that can fail returns rnnrt_status. On failure it also sets this thread's message
 *   (rnnrt_last_error) and changes nothing else: outputs other than *out are left untouched and the
 *   session's state is what it was. `*out` handles are set to NULL on failure.
 * - The library owns everything it allocates and frees it itself; the caller owns its buffers.
 *   No pointer the caller passes is kept after the call returns.
 * - Handles are not pointers to anything you may touch. A NULL, freed, foreign or mistyped handle
 *   (a session where a model is expected, say) is detected and reported as RNNRT_INVALID_HANDLE;
 *   the library never dereferences it.
 * - No exception, signal or abort crosses this API for bad input; a bug inside the library is
 *   reported as RNNRT_INTERNAL with a message.
 *
 * Threads: a model is immutable; any number of threads may use one model at once (create sessions,
 * query it). A session belongs to one thread at a time; calls on one session from two threads at
 * the same moment are refused with RNNRT_INVALID_ARGUMENT rather than corrupting the state, but are
 * a bug in the caller. Different sessions may run on different threads in parallel.
 *
 * Instruction sets (x86-64): librnnrt.so is a small loader. On first use it checks the CPU (CPUID and
 * XGETBV) and loads librnnrt_v4.so (AVX-512 kernels) when the CPU and OS support AVX-512F/BW/CD/DQ/VL,
 * else librnnrt_v3.so (AVX2 + FMA kernels); both are looked for in the loader's own directory, first
 * under this version's name (librnnrt_v4.so.X.Y.Z, as installed), then as librnnrt_v4.so (as built).
 * RNNRT_ISA=v3 or RNNRT_ISA=v4 in the environment forces a choice (v4 is still refused on a CPU
 * without AVX-512: loading it there would abort the process). If no build can be loaded, every call
 * returns RNNRT_BACKEND_UNAVAILABLE and rnnrt_last_error() says why.
 */
#ifndef RNNRT_H
#define RNNRT_H

#include <stddef.h> /* size_t */
#include <stdint.h> /* int32_t, uint32_t */

#if defined(__cplusplus)
extern "C" {
#endif

/* RNNRT_API: how the functions are exported (building the library) or imported (using it). */
#ifndef RNNRT_API
#  if defined(_WIN32)
#    if defined(RNNRT_BUILDING)
#      define RNNRT_API __declspec(dllexport)
#    else
#      define RNNRT_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) && __GNUC__ >= 4
#    define RNNRT_API __attribute__((visibility("default")))
#  else
#    define RNNRT_API
#  endif
#endif

/*-************************************
 *  Version
 **************************************/
#define RNNRT_VERSION_MAJOR 0
#define RNNRT_VERSION_MINOR 1
#define RNNRT_VERSION_PATCH 0
#define RNNRT_VERSION_NUMBER ((RNNRT_VERSION_MAJOR << 16) | (RNNRT_VERSION_MINOR << 8) | RNNRT_VERSION_PATCH)
/* The same as a string, "MAJOR.MINOR.PATCH". (All of these equal the version of the NuGet package,
 * librnnrt.so.MAJOR.MINOR.PATCH, rnnrt.pc and the CMake package: one number, set in the source tree's
 * Directory.Build.props and checked against this header by the build.) */
#define RNNRT_QUOTE_(x) #x
#define RNNRT_EXPAND_AND_QUOTE_(x) RNNRT_QUOTE_(x)
#define RNNRT_VERSION_STRING \
    RNNRT_EXPAND_AND_QUOTE_(RNNRT_VERSION_MAJOR) "." RNNRT_EXPAND_AND_QUOTE_(RNNRT_VERSION_MINOR) "." RNNRT_EXPAND_AND_QUOTE_(RNNRT_VERSION_PATCH)

/*! rnnrt_version():
 *  The version of the library actually loaded, (major << 16) | (minor << 8) | patch.
 *  Compare with RNNRT_VERSION_NUMBER, the version of this header. Never fails. */
RNNRT_API uint32_t rnnrt_version(void);

/*-************************************
 *  Status and errors
 **************************************/
typedef enum rnnrt_status {
    RNNRT_OK = 0,                  /* success */
    RNNRT_INVALID_ARGUMENT = 1,    /* a NULL pointer, a batch size out of range, a non-finite input,
                                      overlapping x and y, a step on a bidirectional model, a session
                                      used from two threads at once, out->struct_size too small */
    RNNRT_SHAPE_MISMATCH = 2,      /* a buffer length that is not what the model and batch need;
                                      the message gives the expected length and its shape */
    RNNRT_IO = 3,                  /* the model file cannot be opened or read (missing, a directory,
                                      no permission); the message names the path */
    RNNRT_FORMAT = 4,              /* the bytes are not a valid model: not safetensors, truncated,
                                      inconsistent shapes, unsupported dtype; names the tensor */
    RNNRT_BACKEND_UNAVAILABLE = 5, /* the backend name is unknown or cannot run on this machine, or
                                      the loader found no library build it can load on this CPU */
    RNNRT_INVALID_HANDLE = 6,      /* NULL, freed (stale), foreign or wrong-kind model/session handle */
    RNNRT_OUT_OF_MEMORY = 7,       /* an allocation failed */
    RNNRT_INTERNAL = 8             /* a bug in rnnrt; the message says what happened */
} rnnrt_status;

/*! rnnrt_last_error():
 *  The message of the last call on this thread that failed, as NUL-terminated UTF-8, starting with
 *  the function's name ("rnnrt_session_step: x has 3 floats; expected 64 ..."); "" if no call on
 *  this thread has failed yet. Successful calls leave it as it was.
 *  Never NULL. The library owns the string: never free it. It stays valid until the next failing
 *  call on the same thread (copy it if you need it longer) and is per thread, so other threads'
 *  failures never overwrite it. */
RNNRT_API const char* rnnrt_last_error(void);

/*! rnnrt_status_string():
 *  The name of a status code as a static NUL-terminated string: "RNNRT_OK", "RNNRT_FORMAT", ...
 *  exactly the enumerator's name; "RNNRT_UNKNOWN_STATUS" for any other value. Never NULL, never
 *  fails, needs no model: it answers even when the loader could not load a build. The string is the
 *  library's, valid for the life of the process: never free it. Thread-safe.
 *  (What went wrong in a call is rnnrt_last_error(); this only names the code.) */
RNNRT_API const char* rnnrt_status_string(rnnrt_status status);

/*-************************************
 *  Models
 **************************************/
/*! rnnrt_model: an opaque handle to a loaded, immutable model (weights prepared for one backend).
 *  Shareable: any number of threads may use one model at the same time. */
typedef struct rnnrt_model rnnrt_model;

/*! rnnrt_model_load():
 *  Loads a .safetensors file holding a PyTorch network: a whole network saved by rnnrt.save (its layer
 *  list in the "rnnrt.network" metadata: linear layers, tanh/relu/sigmoid, nn.RNN / nn.GRU / nn.LSTM
 *  modules, add_input), or a plain nn.RNN / nn.GRU / nn.LSTM state_dict (tensor names as PyTorch
 *  writes them, optionally under one module prefix such as "encoder.gru."; F32, F16, BF16 or F64). A
 *  torch.save file (.pt/.pth, PyTorch >= 1.6) of a state_dict, or of a checkpoint dict holding one
 *  (names flattened: "model_state_dict.gru.weight_ih_l0"), loads the same way, read without Python;
 *  a whole pickled module, the legacy format or TorchScript is RNNRT_FORMAT with advice. The
 *  cell kinds and sizes come from the tensor shapes; "__metadata__": {"nonlinearity": "relu"}
 *  selects a ReLU RNN. For a plain state_dict of a whole network, give its layer list with
 *  rnnrt_model_load_ex.
 *  path:    UTF-8 file name.
 *  backend: "auto" (or NULL): the fastest backend available here; or "reference", "sse" (x86-64) or
 *           "neon" (ARM64), "avx2", "avx512", "opencl". rnnrt_model_info tells which one "auto" picked.
 *  out:     receives the model; NULL on failure. Free it with rnnrt_model_free.
 *  Errors:  RNNRT_INVALID_ARGUMENT (path or out NULL), RNNRT_IO (cannot read the file),
 *           RNNRT_FORMAT (not a valid model), RNNRT_BACKEND_UNAVAILABLE (unknown backend name, or
 *           the backend cannot run here), RNNRT_OUT_OF_MEMORY.
 *  Thread-safe. */
RNNRT_API rnnrt_status rnnrt_model_load(const char* path, const char* backend, rnnrt_model** out);

/*! rnnrt_model_load_memory():
 *  Same as rnnrt_model_load, from the `len` bytes of a .safetensors file at `data`. The bytes are read
 *  during the call only: the caller may free or reuse them as soon as it returns.
 *  Errors: as rnnrt_model_load, except RNNRT_IO; data NULL is RNNRT_INVALID_ARGUMENT. */
RNNRT_API rnnrt_status rnnrt_model_load_memory(const void* data, size_t len, const char* backend, rnnrt_model** out);

/*! struct rnnrt_load_options: every load option of RnnOptions (.NET), for rnnrt_model_load_ex. Set
 *  struct_size to sizeof(struct rnnrt_load_options) and every field you do not need to 0 / NULL
 *  (`struct rnnrt_load_options o = { 0 }; o.struct_size = sizeof o;`). Later versions append fields; a library reads only
 *  the fields that fit in struct_size, so a program built against this header keeps working. Strings
 *  are UTF-8 and read during the call only. */
struct rnnrt_load_options {
    uint32_t struct_size;       /* in: sizeof(struct rnnrt_load_options) */
    const char* backend;        /* NULL or "auto": the fastest backend here; else as rnnrt_model_load */
    const char* prefix;         /* NULL: the file's only recurrent module (or its layer list). Else the
                                   module prefix to load ("encoder.gru"); with a layer list, put in front
                                   of every module name (a checkpoint's "model") */
    const char* device;         /* OpenCL device: NULL picks the first GPU (else the first device); a
                                   number is an index into all devices; else part of the device name */
    const char* const* layers;  /* NULL: the file's "rnnrt.network" layer list, else its one recurrent
                                   module. Else layer_count entries in forward order: a module prefix
                                   ("fc_in"), a kind and a prefix ("linear:fc", "gru:encoder.gru",
                                   "rnn(relu):rnn"), or "tanh", "relu", "sigmoid", "add_input". Every
                                   tensor of the file (under prefix) must belong to a layer, or loading
                                   fails with RNNRT_FORMAT naming the unused ones */
    size_t layer_count;         /* entries in layers (1..1024); 0 when layers is NULL */
    const char* nonlinearity;   /* nn.RNN's activation, which a state_dict does not record: NULL takes
                                   it from the file, else tanh (PyTorch's default); "tanh" or "relu"
                                   says it (an error where the file says the other one) */
    int32_t threads;            /* threads that compute each session's steps on a CPU backend: 0 is the
                                   default, 1 (the calling thread only); RNNRT_THREADS_PER_CORE one per
                                   core; n (up to 256) n, each session getting n - 1 workers when it is
                                   created. Other backends ignore it; results equal one thread's */
    int32_t weight_format;      /* RNNRT_WEIGHTS_FLOAT32 (0, the default), RNNRT_WEIGHTS_BFLOAT16 or
                                   RNNRT_WEIGHTS_INT8: how every weight matrix is stored once loaded
                                   (converted once; biases and all arithmetic stay float32). BFLOAT16
                                   rounds to nearest even; INT8 keeps q in -127..127 and one scale per
                                   output row. The CPU backends run all three; opencl runs FLOAT32
                                   only and refuses the others with RNNRT_BACKEND_UNAVAILABLE */
};
/* rnnrt_load_options.threads: one thread per core of this machine. */
#define RNNRT_THREADS_PER_CORE (-1)
/* Values of rnnrt_load_options.weight_format and rnnrt_model_info.weight_format. */
#define RNNRT_WEIGHTS_FLOAT32 0
#define RNNRT_WEIGHTS_BFLOAT16 1
#define RNNRT_WEIGHTS_INT8 2

/*! rnnrt_model_load_ex(), rnnrt_model_load_memory_ex():
 *  rnnrt_model_load and rnnrt_model_load_memory with every load option. options NULL: all defaults.
 *  Errors: as rnnrt_model_load; RNNRT_INVALID_ARGUMENT also for options->struct_size smaller than the
 *  first version of the struct, layers NULL with layer_count > 0 (or a NULL entry), layer_count over
 *  1024, threads below -1 or over 256, an unknown weight_format; RNNRT_BACKEND_UNAVAILABLE for a
 *  narrow weight_format on the opencl backend; RNNRT_FORMAT for a weight beyond the bfloat16 range
 *  with RNNRT_WEIGHTS_BFLOAT16, and for a layer list the file does not match (unknown names, widths that do not
 *  chain, missing tensors), with a message naming the layer. Thread-safe. */
RNNRT_API rnnrt_status rnnrt_model_load_ex(const char* path, const struct rnnrt_load_options* options, rnnrt_model** out);
RNNRT_API rnnrt_status rnnrt_model_load_memory_ex(const void* data, size_t len, const struct rnnrt_load_options* options, rnnrt_model** out);

/* Values of rnnrt_model_info.cell: the number of gate blocks of the cell. */
#define RNNRT_CELL_RNN 1
#define RNNRT_CELL_GRU 3
#define RNNRT_CELL_LSTM 4
/* Values of rnnrt_model_info.nonlinearity (Elman RNN only; GRU and LSTM report TANH). */
#define RNNRT_NONLINEARITY_TANH 0
#define RNNRT_NONLINEARITY_RELU 1

/*! struct rnnrt_model_info: what a model is and which backend runs it. The caller sets struct_size
 *  to sizeof(struct rnnrt_model_info) before the call, so that a newer library can add fields at the
 *  end without breaking programs built against this header (it fills only the fields that fit).
 *  cell ... has_bias describe the network's first recurrent module only (all of a one-module file;
 *  rnnrt_model_layer_info describes every layer); input_size, output_size and state_size are the
 *  whole network's. (It is a struct tag only, like POSIX's
 *  struct stat, because the function of the same name takes it.) */
struct rnnrt_model_info {
    uint32_t struct_size;   /* in: sizeof(struct rnnrt_model_info) */
    int32_t cell;           /* RNNRT_CELL_RNN, RNNRT_CELL_GRU or RNNRT_CELL_LSTM */
    int32_t nonlinearity;   /* RNNRT_NONLINEARITY_TANH or RNNRT_NONLINEARITY_RELU */
    int32_t input_size;     /* I: floats per batch item in x */
    int32_t hidden_size;    /* H (an LSTM with proj_size P: still H, the width of c; h is P = output_size / D wide for one module) */
    int32_t num_layers;     /* L */
    int32_t num_directions; /* D: 1, or 2 when bidirectional (then only rnnrt_session_run works) */
    int32_t output_size;    /* floats per batch item in y: the network's output width (D*H for one module, D*P with proj_size P) */
    int32_t has_bias;       /* 1 if the model has biases, else 0 */
    int32_t state_size;     /* floats of state per batch item: each recurrent module's L*D*H, twice that
                               for an LSTM (L*D*(P + H) with proj_size P), in network order (the
                               rnnrt_session_get_state layout) */
    char backend[16];       /* NUL-terminated name of the backend that runs it, "auto" resolved */
    int32_t layer_count;    /* layers of the network (1 for a file of one recurrent module) */
    int32_t threads;        /* threads per session on a CPU backend (RNNRT_THREADS_PER_CORE resolved) */
    int32_t weight_format;  /* RNNRT_WEIGHTS_FLOAT32, _BFLOAT16 or _INT8 */
    int64_t weight_bytes;   /* bytes of weights and biases a batch-1 step reads, in that format */
};

/*! rnnrt_model_info():
 *  Fills *out (which must have out->struct_size set, see above).
 *  Errors: RNNRT_INVALID_HANDLE (m not a live model), RNNRT_INVALID_ARGUMENT (out NULL, or
 *  out->struct_size smaller than the first version of the struct, which ended at backend). Thread-safe. */
RNNRT_API rnnrt_status rnnrt_model_info(const rnnrt_model* m, struct rnnrt_model_info* out);

/* Values of rnnrt_layer_info.kind. */
#define RNNRT_LAYER_LINEAR 1     /* nn.Linear: y = W x + b */
#define RNNRT_LAYER_RECURRENT 2  /* a whole nn.RNN / nn.GRU / nn.LSTM stack (cell tells which) */
#define RNNRT_LAYER_TANH 3       /* elementwise activations */
#define RNNRT_LAYER_RELU 4
#define RNNRT_LAYER_SIGMOID 5
#define RNNRT_LAYER_ADD_INPUT 6  /* adds the network's input x to the current value */

/*! struct rnnrt_layer_info: one layer of a network, for rnnrt_model_layer_info. The caller sets
 *  struct_size to sizeof(struct rnnrt_layer_info) before the call, as for rnnrt_model_info (a newer
 *  library fills only the fields that fit). Fields that do not apply to the layer's kind are 0. */
struct rnnrt_layer_info {
    uint32_t struct_size;   /* in: sizeof(struct rnnrt_layer_info) */
    int32_t kind;           /* RNNRT_LAYER_* */
    int32_t input_size;     /* floats per batch item it reads */
    int32_t output_size;    /* floats per batch item it writes (a recurrent stack: D*H, or D*P with proj_size P) */
    int32_t cell;           /* recurrent: RNNRT_CELL_RNN, RNNRT_CELL_GRU or RNNRT_CELL_LSTM */
    int32_t nonlinearity;   /* recurrent: RNNRT_NONLINEARITY_TANH or _RELU (an Elman RNN's; GRU and LSTM report TANH) */
    int32_t hidden_size;    /* recurrent: H, the width of c for an LSTM with proj_size */
    int32_t num_layers;     /* recurrent: L */
    int32_t num_directions; /* recurrent: D, 1 or 2 */
    int32_t proj_size;      /* recurrent: an LSTM's proj_size P, 0 for none */
    int32_t has_bias;       /* linear and recurrent: 1 if it has biases, else 0 */
    int32_t state_size;     /* floats of session state per batch item it holds (recurrent: L*D*H, twice that
                               for an LSTM, L*D*(P + H) with proj_size; 0 for the others) */
    char name[64];          /* NUL-terminated: a linear or recurrent layer's module prefix in the file ("fc_in",
                               "encoder.gru"; "" for a lone module without one), else the kind's layer-list
                               name ("tanh"); cut to 63 bytes */
};

/*! rnnrt_model_layer_info():
 *  Fills *out (out->struct_size set, see above) with layer `index` of m, 0 .. layer_count - 1 in
 *  forward order (layer_count is rnnrt_model_info's). Where rnnrt_model_info describes only the
 *  first recurrent module, this describes every layer of the network.
 *  Errors: RNNRT_INVALID_HANDLE (m not a live model), RNNRT_INVALID_ARGUMENT (out NULL,
 *  out->struct_size too small, index out of range). Thread-safe. */
RNNRT_API rnnrt_status rnnrt_model_layer_info(const rnnrt_model* m, int32_t index, struct rnnrt_layer_info* out);

/*! rnnrt_model_free():
 *  Releases the caller's handle; m is invalid from then on. Sessions created from m keep working:
 *  a session keeps its model alive, and the model's memory is released when the last of them is
 *  freed too, so the order of frees does not matter (the same rule as .NET's RnnModel.Dispose and
 *  Python's Model.close). NULL is fine (nothing happens). A freed or foreign handle (a double free, say) is
 *  not touched: it is reported through rnnrt_last_error() (RNNRT_INVALID_HANDLE's message), since
 *  the function returns nothing. A call on m racing with its free on another thread either
 *  completes normally or reports RNNRT_INVALID_HANDLE. */
RNNRT_API void rnnrt_model_free(rnnrt_model* m);

/*-************************************
 *  Sessions
 **************************************/
/*! rnnrt_session: an opaque handle to the state of `batch` independent streams through one model.
 *  Owned by one thread at a time; may move between threads between calls. */
typedef struct rnnrt_session rnnrt_session;

/*! rnnrt_session_create():
 *  Creates a session with a zero state for `batch` streams (1..65536) over model m. Allocates;
 *  the calls below do not.
 *  out: receives the session; NULL on failure. Free it with rnnrt_session_free.
 *  Errors: RNNRT_INVALID_HANDLE (m), RNNRT_INVALID_ARGUMENT (out NULL, batch out of range),
 *  RNNRT_OUT_OF_MEMORY. Thread-safe with respect to m. */
RNNRT_API rnnrt_status rnnrt_session_create(rnnrt_model* m, int32_t batch, rnnrt_session** out);

/*! rnnrt_session_step():
 *  One time step of a unidirectional network: reads x [B, I] (x_len = B*I floats, all finite), updates
 *  the state and writes y [B, O] (y_len = B*O floats; for a lone recurrent module, its last layer's
 *  new h). x and y must not overlap. Allocation-free.
 *  Errors: RNNRT_INVALID_HANDLE (s, also when another thread frees s during the call),
 *  RNNRT_SHAPE_MISMATCH (x_len or y_len), RNNRT_INVALID_ARGUMENT
 *  (x or y NULL, a NaN or infinity in x, x and y overlap, a module is bidirectional: a backward
 *  pass needs the whole sequence, use rnnrt_session_run; s busy in another thread).
 *  On error the state and y are unchanged. */
RNNRT_API rnnrt_status rnnrt_session_step(rnnrt_session* s, const float* x, size_t x_len, float* y, size_t y_len);

/*! rnnrt_session_run():
 *  A whole sequence, like calling the PyTorch module with h0 = the session's state: reads
 *  xs [steps, B, I] (exactly steps*B*I floats), writes ys [steps, B, O] (ys_len = steps*B*O)
 *  and leaves h_n (and c_n) in the session. Works for bidirectional models too. steps = 0 does
 *  nothing (xs and ys may then be NULL). Allocation-free once the session has seen a run this long.
 *  Errors: as rnnrt_session_step, except that bidirectional models are fine. */
RNNRT_API rnnrt_status rnnrt_session_run(rnnrt_session* s, const float* xs, size_t steps, float* ys, size_t ys_len);

/*! rnnrt_session_reset():
 *  Sets the state (h, and c for an LSTM) to zero, as after rnnrt_session_create.
 *  Errors: RNNRT_INVALID_HANDLE. */
RNNRT_API rnnrt_status rnnrt_session_reset(rnnrt_session* s);

/*! rnnrt_session_get_state():
 *  Copies the state out: h [L*D, B, H] ([L*D, B, P] for an LSTM with proj_size P), then for an LSTM
 *  c [L*D, B, H]; len = B * info.state_size.
 *  Errors: RNNRT_INVALID_HANDLE, RNNRT_INVALID_ARGUMENT (state NULL), RNNRT_SHAPE_MISMATCH (len). */
RNNRT_API rnnrt_status rnnrt_session_get_state(const rnnrt_session* s, float* state, size_t len);

/*! rnnrt_session_set_state():
 *  Replaces the state (same layout and length as rnnrt_session_get_state; all values finite), e.g.
 *  PyTorch's h0 (and c0) before a run.
 *  Errors: as rnnrt_session_get_state, plus RNNRT_INVALID_ARGUMENT for a NaN or infinity. */
RNNRT_API rnnrt_status rnnrt_session_set_state(rnnrt_session* s, const float* state, size_t len);

/*! rnnrt_session_reset_slot():
 *  Many streams in one session: zeroes slot `slot`'s state (h, and c for an LSTM), 0 <= slot < batch,
 *  so a new stream can join there; every other slot keeps its state bit for bit.
 *  Errors: RNNRT_INVALID_HANDLE, RNNRT_INVALID_ARGUMENT (slot out of range, or a model without
 *  per-slot streams). A rejected call changes nothing. */
RNNRT_API rnnrt_status rnnrt_session_reset_slot(rnnrt_session* s, int32_t slot);

/*! rnnrt_session_get_state_slot():
 *  Copies out slot `slot`'s state in the layout of a batch-1 session's rnnrt_session_get_state
 *  (h [L*D, 1, H], then for an LSTM c [L*D, 1, H]); len = info.state_size floats.
 *  Errors: RNNRT_INVALID_HANDLE, RNNRT_INVALID_ARGUMENT (state NULL, slot out of range),
 *  RNNRT_SHAPE_MISMATCH (len). A rejected call changes nothing. */
RNNRT_API rnnrt_status rnnrt_session_get_state_slot(const rnnrt_session* s, int32_t slot, float* state, size_t len);

/*! rnnrt_session_set_state_slot():
 *  Replaces slot `slot`'s state (layout and length as rnnrt_session_get_state_slot; all values
 *  finite); every other slot keeps its state bit for bit.
 *  Errors: as rnnrt_session_get_state_slot, plus RNNRT_INVALID_ARGUMENT for a NaN or infinity.
 *  A rejected call changes nothing. */
RNNRT_API rnnrt_status rnnrt_session_set_state_slot(rnnrt_session* s, int32_t slot, const float* state, size_t len);

/*! rnnrt_session_step_active():
 *  One time step of the listed slots only (many streams in one session): active holds k =
 *  active_count distinct slots (0 <= slot < batch); reads x [k, I] (x_len = k*I floats), writes
 *  y [k, O] (y_len = k*O), row j being slot active[j]. Only those slots' states change, with the work
 *  of k rows; a slot's results are bit-identical (CPU backends) to stepping it alone. k = 0 does
 *  nothing. Reference and CPU backends (opencl: RNNRT_BACKEND_UNAVAILABLE unless every slot is listed
 *  in order).
 *  Errors: as rnnrt_session_step, plus RNNRT_INVALID_ARGUMENT for active NULL, a slot out of range or
 *  listed twice. A rejected call changes nothing. */
RNNRT_API rnnrt_status rnnrt_session_step_active(rnnrt_session* s, const int32_t* active, size_t active_count,
                                                 const float* x, size_t x_len, float* y, size_t y_len);

/*! rnnrt_session_free():
 *  Releases the session and its state memory; s is invalid from then on. NULL is fine. A freed or
 *  foreign handle is not touched and is reported through rnnrt_last_error(). */
RNNRT_API void rnnrt_session_free(rnnrt_session* s);

#if defined(__cplusplus)
}
#endif

#endif /* RNNRT_H */
