// The elementwise layers of a network, one work-item per float of a [T*B, width] value:
// kind 0 tanh, 1 relu, 2 sigmoid, 3 add_input (adds the network's input x, same layout).
// x and y are different buffers (the values between layers alternate).
__kernel void elementwise(__global const float* restrict x, __global const float* restrict input,
                          __global float* restrict y, int n, int kind)
{
    const int i = get_global_id(0);
    if (i >= n) return;
    const float v = x[i];
    float r;
    switch (kind)
    {
        case 0: r = tanh(v); break;
        case 1: r = fmax(v, 0.0f); break;
        case 2: r = sigmoid_f(v); break;
        default: r = v + input[i]; break;
    }
    y[i] = r;
}
