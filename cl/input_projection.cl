// The input projection of a whole sequence as one blocked matrix product:
//   c[m, n] = bias[n] + sum_k a[m, k] * w[n, k]
// a: [M, K] (M = T*B rows of layer input), w: [N, K] (W_ih of every direction stacked, PyTorch
// layout), c: [M, N]. Each TILE x TILE work-group stages one tile of a and one of w in local memory
// per K block, so every input element is read from global memory once per tile, not once per
// output. Work-item (x, y) owns output column n (x, fastest: coalesced loads of both operands
// along k and coalesced stores along n) of row m (y). The +1 padding keeps the transposed reads of
// w_tile free of local-memory bank conflicts.
__kernel __attribute__((reqd_work_group_size(TILE, TILE, 1)))
void input_projection(__global const float* restrict a, int m_rows, int k_cols,
                      __global const float* restrict w, int n_cols,
                      __global const float* restrict bias,
                      __global float* restrict c)
{
    __local float a_tile[TILE][TILE + 1];
    __local float w_tile[TILE][TILE + 1];
    const int lx = get_local_id(0), ly = get_local_id(1);
    const int n = get_group_id(0) * TILE + lx;
    const int m = get_group_id(1) * TILE + ly;
    const int n_load = get_group_id(0) * TILE + ly;   // the w row this item stages
    float acc = 0.0f;
    for (int k0 = 0; k0 < k_cols; k0 += TILE)
    {
        const int k = k0 + lx;
        a_tile[ly][lx] = (m < m_rows && k < k_cols) ? a[(size_t)m * k_cols + k] : 0.0f;
        w_tile[ly][lx] = (n_load < n_cols && k < k_cols) ? w[(size_t)n_load * k_cols + k] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TILE; kk++)
            acc = fma(a_tile[ly][kk], w_tile[lx][kk], acc);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (m < m_rows && n < n_cols)
        c[(size_t)m * n_cols + n] = acc + bias[n];
}
