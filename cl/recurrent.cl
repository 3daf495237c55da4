// The part every step kernel shares: W_hh h_prev for the gates of one hidden unit.
//
// Work layout of a step kernel: dimension 1 is the batch item b; along dimension 0 each work-group
// owns get_local_size(0) / lanes consecutive hidden units j, and `lanes` work-items (a power of two)
// share each unit. W_hh is stored [G*H, hp] with rows zero-padded to hp = H rounded up to 4, so a
// row is a whole number of aligned float4s: lane l reads float4 number l, l + lanes, ... of the row,
// so neighbouring work-items read neighbouring 16-byte words (coalesced, vectorized, no tail). h_prev
// of item b is staged once per work-group in local memory (zero-padded the same way). The G partial
// sums of a unit travel as one float4 (component g = gate g, G <= 4) and are reduced across its lanes
// in local memory; the sum ends up in red[first lane of the unit].

inline void stage_hidden(__global const float* restrict h_prev, int hidden, int hp, __local float* hl)
{
    const int lid = get_local_id(0), wg = get_local_size(0);
    for (int k = lid; k < hp; k += wg)
        hl[k] = k < hidden ? h_prev[k] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
}

inline float row_dot(__global const float4* restrict row, __local const float4* hl4, int hp4, int lane, int lanes)
{
    float4 acc = (float4)(0.0f);
    for (int k = lane; k < hp4; k += lanes)
        acc = mad(row[k], hl4[k], acc);
    return (acc.x + acc.y) + (acc.z + acc.w);
}

// Returns, in the unit's first lane, (W_g0 h, W_g1 h, W_g2 h, W_g3 h) for unit j; components past
// `gates` are zero. Every work-item of the group must call it (it holds barriers).
inline float4 recurrent_dots(__global const float* restrict w_hh, int gates, int hidden, int hp,
                             __local const float* hl, __local float4* red, int lanes, int j)
{
    const int lid = get_local_id(0);
    const int lane = lid & (lanes - 1);
    const int hp4 = hp >> 2;
    __local const float4* hl4 = (__local const float4*)hl;
    float4 acc = (float4)(0.0f);
    if (j < hidden)
    {
        __global const float4* w4 = (__global const float4*)w_hh;
        acc.x = row_dot(w4 + (size_t)j * hp4, hl4, hp4, lane, lanes);
        if (gates > 1) acc.y = row_dot(w4 + (size_t)(hidden + j) * hp4, hl4, hp4, lane, lanes);
        if (gates > 2) acc.z = row_dot(w4 + (size_t)(2 * hidden + j) * hp4, hl4, hp4, lane, lanes);
        if (gates > 3) acc.w = row_dot(w4 + (size_t)(3 * hidden + j) * hp4, hl4, hp4, lane, lanes);
    }
    red[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lanes >> 1; s > 0; s >>= 1)
    {
        if (lane < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return red[lid];
}
