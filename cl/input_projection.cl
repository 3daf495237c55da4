// The input projection of a whole sequence as one blocked matrix product:
//   c[m, n] = bias[n] + sum_k a[m, k] * w[n, k]
// a: [M, K] (M = T*B rows of layer input), w: [N, K] (W_ih of every direction stacked, PyTorch
// layout), c: [M, N]. Each TILE x TILE work-group stages one tile of a and one of w in local memory
// per K block, so every input element is read from global memory once per tile, not once per
// output. Work-item (x, y) owns output column n (x, fastest) of row m (y). Both operands are loaded
// along k by x (coalesced), and w's tile is stored transposed, w_tile[k][n], so the inner loop
// reads a_tile[y][k] (one value for the whole row of work-items) and w_tile[k][x] (consecutive
// words across work-items: no bank conflicts on a GPU, contiguous vectors for a CPU driver). The +1
// padding keeps the transposed stores conflict-free. Stores of c are coalesced along n.
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
        w_tile[lx][ly] = (n_load < n_cols && k < k_cols) ? w[(size_t)n_load * k_cols + k] : 0.0f;
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TILE; kk++)
            acc = fma(a_tile[ly][kk], w_tile[kk][lx], acc);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (m < m_rows && n < n_cols)
        c[(size_t)m * n_cols + n] = acc + bias[n];
}

// The same product for long sequences, register-blocked: each work-item computes 4 x 4 outputs, so
// a TILE x TILE work-group covers a (4*TILE) x (4*TILE) block of c and every value loaded from
// local memory feeds 4 multiply-adds instead of 1 (16 per 8 local loads). Work-item (x, y) owns
// rows m0 + y + TILE*i and columns n0 + x + TILE*j (i, j < 4): neighbouring work-items still
// touch neighbouring columns, so local reads and global stores stay contiguous/coalesced. The
// host uses it when M >= 4*TILE; below that the plain kernel wastes less.
#define BLOCK (4 * TILE)
__kernel __attribute__((reqd_work_group_size(TILE, TILE, 1)))
void input_projection_blocked(__global const float* restrict a, int m_rows, int k_cols,
                              __global const float* restrict w, int n_cols,
                              __global const float* restrict bias,
                              __global float* restrict c)
{
    __local float a_tile[BLOCK][TILE + 1];   // [m][k]
    __local float w_tile[TILE][BLOCK + 1];   // [k][n], stored transposed
    const int lx = get_local_id(0), ly = get_local_id(1);
    const int id = ly * TILE + lx;
    const int m0 = get_group_id(1) * BLOCK, n0 = get_group_id(0) * BLOCK;
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;

    for (int k0 = 0; k0 < k_cols; k0 += TILE)
    {
        // BLOCK x TILE values of each operand, 4 per work-item; consecutive ids walk along k.
        for (int q = 0; q < 4; q++)
        {
            const int idx = id + q * TILE * TILE;
            const int r = idx / TILE, kk = idx % TILE;
            const int k = k0 + kk;
            const int m = m0 + r, n = n0 + r;
            a_tile[r][kk] = (m < m_rows && k < k_cols) ? a[(size_t)m * k_cols + k] : 0.0f;
            w_tile[kk][r] = (n < n_cols && k < k_cols) ? w[(size_t)n * k_cols + k] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < TILE; kk++)
        {
            float ar[4], wr[4];
            for (int i = 0; i < 4; i++) ar[i] = a_tile[ly + TILE * i][kk];
            for (int j = 0; j < 4; j++) wr[j] = w_tile[kk][lx + TILE * j];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) acc[i][j] = fma(ar[i], wr[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++)
    {
        const int m = m0 + ly + TILE * i;
        if (m >= m_rows) break;
        for (int j = 0; j < 4; j++)
        {
            const int n = n0 + lx + TILE * j;
            if (n < n_cols) c[(size_t)m * n_cols + n] = acc[i][j] + bias[n];
        }
    }
}

// The same product for at most 4 rows of a (a Step, or a short run of a tiny batch), where a tile
// of 16 rows would be mostly padding. It works like the step kernels' recurrent product: `lanes`
// work-items (a power of two) share output column n, walking row n of w along k (neighbouring lanes,
// neighbouring words: coalesced), with the rows of a staged in local memory, zero-padded to 4 so the
// inner loop has no branches. Needs 4*k_cols floats of local memory (al) and one float4 per
// work-item (red).
__kernel void input_projection_rows(__global const float* restrict a, int m_rows, int k_cols,
                                    __global const float* restrict w, int n_cols,
                                    __global const float* restrict bias,
                                    __global float* restrict c,
                                    int lanes, __local float* al, __local float4* red)
{
    const int lid = get_local_id(0), wg = get_local_size(0);
    for (int i = lid; i < 4 * k_cols; i += wg)
        al[i] = i < m_rows * k_cols ? a[i] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    const int lane = lid & (lanes - 1);
    const int n = get_group_id(0) * (wg / lanes) + lid / lanes;
    float4 acc = (float4)(0.0f);
    if (n < n_cols)
    {
        __global const float* row = w + (size_t)n * k_cols;
        for (int k = lane; k < k_cols; k += lanes)
        {
            const float v = row[k];
            acc = fma((float4)(v), (float4)(al[k], al[k_cols + k], al[2 * k_cols + k], al[3 * k_cols + k]), acc);
        }
    }
    red[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = lanes >> 1; s > 0; s >>= 1)
    {
        if (lane < s) red[lid] += red[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lane != 0 || n >= n_cols) return;
    const float4 sum = red[lid];
    const float b = bias[n];
    c[n] = sum.x + b;
    if (m_rows > 1) c[n_cols + n] = sum.y + b;
    if (m_rows > 2) c[2 * n_cols + n] = sum.z + b;
    if (m_rows > 3) c[3 * n_cols + n] = sum.w + b;
}
