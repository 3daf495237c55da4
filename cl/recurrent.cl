// The part every step kernel shares: W_hh h_prev for the gates of one hidden unit and a block of BB
// batch items (BB is 1 or 4: a compile-time constant of each kernel variant, so the per-item
// accumulators stay in registers and the inner loop has no branches).
//
// Work layout of a step kernel: work-group g1 (dimension 1) owns batch items g1*BB .. g1*BB + BB - 1
// (the last block may be short: its missing items are staged as zeros and never written); along
// dimension 0 each work-group owns get_local_size(0) / lanes consecutive hidden units j, and `lanes`
// work-items (a power of two) share each unit. W_hh is stored [G*H, hp] with rows zero-padded to
// hp = H rounded up to 4, so a row is a whole number of aligned float4s: lane l reads float4 number
// l, l + lanes, ... of the row, so neighbouring work-items read neighbouring 16-byte words
// (coalesced, vectorized, no tail). Each weight float4 is used for all BB items, so W_hh streams
// from memory once per block of items. h_prev of the block is staged once per work-group in local
// memory (zero-padded the same way). The G partial sums of a unit and item travel as one float4
// (component g = gate g, G <= 4) and are reduced across the unit's lanes in local memory.

inline void stage_hidden(__global const float* restrict h_prev, int hidden, int hp, int items, const int bb,
                         __local float* hl)
{
    const int lid = get_local_id(0), wg = get_local_size(0);
    for (int i = 0; i < bb; i++)
        for (int k = lid; k < hp; k += wg)
            hl[i * hp + k] = (i < items && k < hidden) ? h_prev[(size_t)i * hidden + k] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
}

// dots[i] = row . h_i over this lane's share of the row, for the bb staged items.
inline void row_dots(__global const float4* restrict row, __local const float4* hl4, int hp4, const int bb,
                     int lane, int lanes, float* dots)
{
    float4 acc0 = (float4)(0.0f), acc1 = (float4)(0.0f), acc2 = (float4)(0.0f), acc3 = (float4)(0.0f);
    for (int k = lane; k < hp4; k += lanes)
    {
        const float4 w = row[k];
        acc0 = fma(w, hl4[k], acc0);
        if (bb > 1)
        {
            acc1 = fma(w, hl4[hp4 + k], acc1);
            acc2 = fma(w, hl4[2 * hp4 + k], acc2);
            acc3 = fma(w, hl4[3 * hp4 + k], acc3);
        }
    }
    dots[0] = (acc0.x + acc0.y) + (acc0.z + acc0.w);
    if (bb > 1)
    {
        dots[1] = (acc1.x + acc1.y) + (acc1.z + acc1.w);
        dots[2] = (acc2.x + acc2.y) + (acc2.z + acc2.w);
        dots[3] = (acc3.x + acc3.y) + (acc3.z + acc3.w);
    }
}

// Leaves in red[i * wg + lid] of the unit's first lane (lane 0), for each item i < bb,
// (W_g0 h_i, W_g1 h_i, W_g2 h_i, W_g3 h_i) of unit j; components past `gates` are zero. Every
// work-item of the group must call it (it holds barriers).
inline void recurrent_dots(__global const float* restrict w_hh, const int gates, int hidden, int hp, const int bb,
                           __local const float* hl, __local float4* red, int lanes, int j)
{
    const int lid = get_local_id(0), wg = get_local_size(0);
    const int lane = lid & (lanes - 1);
    const int hp4 = hp >> 2;
    __local const float4* hl4 = (__local const float4*)hl;
    float g0[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, g1[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    float g2[4] = { 0.0f, 0.0f, 0.0f, 0.0f }, g3[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
    if (j < hidden)
    {
        __global const float4* w4 = (__global const float4*)w_hh;
        row_dots(w4 + (size_t)j * hp4, hl4, hp4, bb, lane, lanes, g0);
        if (gates > 1) row_dots(w4 + (size_t)(hidden + j) * hp4, hl4, hp4, bb, lane, lanes, g1);
        if (gates > 2) row_dots(w4 + (size_t)(2 * hidden + j) * hp4, hl4, hp4, bb, lane, lanes, g2);
        if (gates > 3) row_dots(w4 + (size_t)(3 * hidden + j) * hp4, hl4, hp4, bb, lane, lanes, g3);
    }
    for (int i = 0; i < bb; i++) red[i * wg + lid] = (float4)(g0[i], g1[i], g2[i], g3[i]);
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lanes >> 1; s > 0; s >>= 1)
    {
        if (lane < s)
            for (int i = 0; i < bb; i++) red[i * wg + lid] += red[i * wg + lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
}
