// Shared helpers of the rnnrt kernels. OpenCL C 1.2; all math in float.
// The host builds common.cl, input_projection.cl and the step kernels as one program, with
// -DTILE=<n> chosen from the device's work-group limit.

#ifndef TILE
#define TILE 16
#endif

inline float sigmoid_f(float v) { return 1.0f / (1.0f + exp(-v)); }

// The time index a direction visits at a given step: forward walks 0..T-1, backward T-1..0.
inline int step_time(int steps, int reverse, int step) { return reverse ? steps - 1 - step : step; }
