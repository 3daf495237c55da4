// One time step of one layer and direction, fused: recurrent product, biases, gates, state update,
// and the write of h' into the layer's output sequence. The input projection (W_ih x + biases) was
// computed for the whole sequence beforehand (input_projection.cl): proj row (t, b) starts at
// (t*B + b)*proj_stride + proj_off and holds the G*H gate pre-activations of this direction.
//
// h is double-buffered (h_a, h_b: the whole (L*D, B, W) state each, W = H, or P for an LSTM with a
// projection): step s reads the buffer
// selected by (parity0 + s) & 1 and writes the other, so one enqueue per step needs no copy and no
// host round-trip; only `step` changes between enqueues. c (LSTM) is updated in place: each unit's
// c is read and written by the same work-item.
//
// Each cell has two variants: <cell>_step handles one batch item per work-group, <cell>_step4 four
// (recurrent.cl). Arguments are the same for all six (unused buffers are NULL):
//   0 proj, 1 proj_stride, 2 proj_off, 3 w_hh [G*H, hp], 4 b_hn [H] (GRU only), 5 h_a, 6 h_b,
//   7 c (LSTM only), 8 h_off, 9 y, 10 y_stride, 11 y_off, 12 steps, 13 reverse, 14 parity0,
//   15 step, 16 batch, 17 hidden (units), 18 hp (h's width rounded up to 4: W_hh's row stride),
//   19 lanes, 20 relu, 21 hl (local, BB*hp floats), 22 red (local, BB float4s per work-item),
//   23 width (of h: H, or P with a projection), 24 c_off (of this layer and direction's c),
//   25 h_full (LSTM with a projection: (B, H) scratch that receives o * tanh(c') instead of h_next
//   and y, for lstm_project; NULL otherwise)

#define STEP_KERNEL_ARGS \
    __global const float* restrict proj, int proj_stride, int proj_off, \
    __global const float* restrict w_hh, __global const float* restrict b_hn, \
    __global float* h_a, __global float* h_b, __global float* restrict c, int h_off, \
    __global float* restrict y, int y_stride, int y_off, \
    int steps, int reverse, int parity0, int step, \
    int batch, int hidden, int hp, int lanes, int relu, \
    __local float* hl, __local float4* red, \
    int width, int c_off, __global float* restrict h_full

// Everything a step kernel needs before its cell-specific epilogue: b0 and items (the batch block),
// j, t, h_prev and h_next (at item b0); returns from every work-item but each real unit's first lane.
#define STEP_PROLOGUE(GATES, BB) \
    const int b0 = get_group_id(1) * (BB); \
    const int items = min((BB), batch - b0); \
    const int j = get_group_id(0) * (get_local_size(0) / lanes) + get_local_id(0) / lanes; \
    const int t = step_time(steps, reverse, step); \
    const int odd = (parity0 + step) & 1; \
    __global const float* h_prev = (odd ? h_b : h_a) + h_off + (size_t)b0 * width; \
    __global float* h_next = (odd ? h_a : h_b) + h_off + (size_t)b0 * width; \
    stage_hidden(h_prev, width, hp, items, (BB), hl); \
    recurrent_dots(w_hh, (GATES), hidden, hp, (BB), hl, red, lanes, j); \
    if ((get_local_id(0) & (lanes - 1)) != 0 || j >= hidden) return;

// For item i of the block: s (its recurrent dots), p (its projection row), out (its output row).
#define ITEM_ROWS(i) \
    const float4 s = red[(i) * get_local_size(0) + get_local_id(0)]; \
    __global const float* p = proj + (size_t)(t * batch + b0 + (i)) * proj_stride + proj_off; \
    __global float* out = y + (size_t)(t * batch + b0 + (i)) * y_stride + y_off;

// h' = act(W_ih x + b_ih + W_hh h + b_hh)
#define RNN_EPILOGUE \
    for (int i = 0; i < items; i++) \
    { \
        ITEM_ROWS(i) \
        const float a = p[j] + s.x; \
        const float hn = relu ? fmax(a, 0.0f) : tanh(a); \
        h_next[i * hidden + j] = hn; \
        out[j] = hn; \
    }

// r, z, n rows; proj holds W_i* x + b_i* (+ b_hr, b_hz for r and z); b_hn stays inside r * (...).
#define GRU_EPILOGUE \
    for (int i = 0; i < items; i++) \
    { \
        ITEM_ROWS(i) \
        const float r = sigmoid_f(p[j] + s.x); \
        const float z = sigmoid_f(p[hidden + j] + s.y); \
        const float n = tanh(p[2 * hidden + j] + r * (s.z + b_hn[j])); \
        const float hn = (1.0f - z) * n + z * hl[i * hp + j]; \
        h_next[i * hidden + j] = hn; \
        out[j] = hn; \
    }

// i, f, g, o rows; proj holds W_i* x + b_i* + b_h*. With a projection h_full takes o * tanh(c')
// and lstm_project makes h' and the output from it.
#define LSTM_EPILOGUE \
    __global float* cb = c + c_off + (size_t)b0 * hidden; \
    for (int i = 0; i < items; i++) \
    { \
        ITEM_ROWS(i) \
        const float ig = sigmoid_f(p[j] + s.x); \
        const float fg = sigmoid_f(p[hidden + j] + s.y); \
        const float gg = tanh(p[2 * hidden + j] + s.z); \
        const float og = sigmoid_f(p[3 * hidden + j] + s.w); \
        const float cn = fg * cb[i * hidden + j] + ig * gg; \
        cb[i * hidden + j] = cn; \
        const float hn = og * tanh(cn); \
        if (h_full) { h_full[(size_t)(b0 + i) * hidden + j] = hn; continue; } \
        h_next[i * hidden + j] = hn; \
        out[j] = hn; \
    }

__kernel void rnn_step(STEP_KERNEL_ARGS)   { STEP_PROLOGUE(1, 1) RNN_EPILOGUE }
__kernel void rnn_step4(STEP_KERNEL_ARGS)  { STEP_PROLOGUE(1, 4) RNN_EPILOGUE }
__kernel void gru_step(STEP_KERNEL_ARGS)   { STEP_PROLOGUE(3, 1) GRU_EPILOGUE }
__kernel void gru_step4(STEP_KERNEL_ARGS)  { STEP_PROLOGUE(3, 4) GRU_EPILOGUE }
__kernel void lstm_step(STEP_KERNEL_ARGS)  { STEP_PROLOGUE(4, 1) LSTM_EPILOGUE }
__kernel void lstm_step4(STEP_KERNEL_ARGS) { STEP_PROLOGUE(4, 4) LSTM_EPILOGUE }

// The projection of an LSTM with proj_size P, after its step kernel (the in-order queue orders them):
// h'[b, p] = sum_j W_hr[p, j] h_full[b, j], written to h_next (the buffer the step kernel would have
// written, (B, P) at h_off) and to the output row. One work-item per (p, b): global (P, B). W_hr is
// stored transposed, w_hr_t [H, P], so neighbouring work-items read neighbouring floats; h_full[b, j]
// is the same for the whole row of work-items.
__kernel void lstm_project(__global const float* restrict w_hr_t, __global const float* restrict h_full,
                           __global float* h_a, __global float* h_b, int h_off,
                           __global float* restrict y, int y_stride, int y_off,
                           int steps, int reverse, int parity0, int step, int batch, int hidden, int proj)
{
    const int p = get_global_id(0), b = get_global_id(1);
    if (p >= proj || b >= batch) return;
    const int t = step_time(steps, reverse, step);
    const int odd = (parity0 + step) & 1;
    __global const float* hf = h_full + (size_t)b * hidden;
    float acc = 0.0f;
    for (int k = 0; k < hidden; k++) acc = fma(w_hr_t[(size_t)k * proj + p], hf[k], acc);
    (odd ? h_a : h_b)[h_off + (size_t)b * proj + p] = acc;
    y[(size_t)(t * batch + b) * y_stride + y_off + p] = acc;
}
