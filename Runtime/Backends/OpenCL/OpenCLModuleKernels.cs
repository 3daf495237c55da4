using Silk.NET.OpenCL;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// One session's part of a recurrent module: its h double-buffered on the device (h_a, h_b: every step
/// of every layer and direction reads one and writes the other; since each takes the same number of
/// steps, the session's one parity bit says where the current state is), its c (LSTM), the input
/// projection kernels of each layer and the step kernels of each layer and direction (cl/steps.cl).
/// Kernel arguments are set once, except those that change per run (steps, parity) or per step (the
/// step index), and those that name scratch buffers, set again when the scratch grows.
/// </summary>
internal sealed unsafe class OpenCLModuleKernels
{
    // Argument indices of the step kernels (cl/steps.cl).
    private const uint ArgProj = 0, ArgProjStride = 1, ArgProjOff = 2, ArgWeightHh = 3, ArgBiasHn = 4,
        ArgHA = 5, ArgHB = 6, ArgC = 7, ArgHOff = 8, ArgY = 9, ArgYStride = 10, ArgYOff = 11, ArgSteps = 12,
        ArgReverse = 13, ArgParity0 = 14, ArgStep = 15, ArgBatch = 16, ArgHidden = 17, ArgHp = 18,
        ArgLanes = 19, ArgRelu = 20, ArgLocalH = 21, ArgLocalReduce = 22;

    private readonly OpenCLSessionObjects _o;
    private readonly OpenCLRecurrentModule _m;
    private readonly int _batch, _layers, _directions, _hidden, _batchBlock, _lanes;
    private readonly OpenCLProjection[] _projection;   // [L]
    private readonly nint[] _step;                      // [L*D]
    private nint _hA, _hB, _c;

    public OpenCLModuleKernels(OpenCLSessionObjects o, OpenCLRecurrentModule module, int batch)
    {
        _o = o;
        _m = module;
        _batch = batch;
        _layers = module.Layer.NumLayers;
        _directions = module.Layer.NumDirections;
        _hidden = module.Layer.HiddenSize;
        _batchBlock = batch > 1 ? module.MaxBatchBlock : 1;
        _lanes = o.LanesFor(module.PaddedHidden / 4);
        StateFloats = _layers * _directions * batch * _hidden;
        _hA = o.Buffer(MemFlags.ReadWrite, StateFloats);
        _hB = o.Buffer(MemFlags.ReadWrite, StateFloats);
        if (module.Layer.Spec.HasCellState) _c = o.Buffer(MemFlags.ReadWrite, StateFloats);
        _projection = new OpenCLProjection[_layers];
        _step = new nint[_layers * _directions];
        for (int l = 0; l < _layers; l++)
        {
            _projection[l] = new OpenCLProjection(o, module.Layer.Weights(l, 0).InputSize, module.ProjectionWidth, module.WeightIh(l), module.BiasInput(l));
            for (int d = 0; d < _directions; d++)
            {
                nint k = _step[l * _directions + d] = o.Kernel(module.StepKernelName(_batchBlock));
                SetFixedStepArgs(k, l, d);
            }
        }
    }

    /// <summary>Floats of h (and as many of c): (L*D, B, H).</summary>
    public int StateFloats { get; }

    public nint H(int parity) => parity == 0 ? _hA : _hB;
    public nint C => _c;

    private int OutputWidth => _directions * _hidden;

    /// <summary>L: layers of the module's stack.</summary>
    public int Layers => _layers;

    private void SetFixedStepArgs(nint k, int layer, int dir)
    {
        OpenCLSessionObjects o = _o;
        int gates = _m.Layer.Spec.Gates;
        o.SetInt(k, ArgProjStride, _m.ProjectionWidth);
        o.SetInt(k, ArgProjOff, dir * gates * _hidden);
        o.SetBuffer(k, ArgWeightHh, _m.WeightHh(layer, dir));
        o.SetBuffer(k, ArgBiasHn, _m.BiasHn(layer, dir));
        o.SetBuffer(k, ArgHA, _hA);
        o.SetBuffer(k, ArgHB, _hB);
        o.SetBuffer(k, ArgC, _c);
        o.SetInt(k, ArgHOff, (layer * _directions + dir) * _batch * _hidden);
        o.SetInt(k, ArgYStride, OutputWidth);
        o.SetInt(k, ArgYOff, dir * _hidden);
        o.SetInt(k, ArgReverse, dir);
        o.SetInt(k, ArgBatch, _batch);
        o.SetInt(k, ArgHidden, _hidden);
        o.SetInt(k, ArgHp, _m.PaddedHidden);
        o.SetInt(k, ArgLanes, _lanes);
        o.SetInt(k, ArgRelu, _m.Layer.Nonlinearity == RnnNonlinearity.Relu ? 1 : 0);
        o.SetLocal(k, ArgLocalH, 4L * _batchBlock * _m.PaddedHidden);
        o.SetLocal(k, ArgLocalReduce, 16L * _batchBlock * o.Device.StepWorkGroup);
    }

    /// <summary>Points the kernels at the module's input and output and the scratch between its layers.</summary>
    public void Bind(nint input, nint output, nint mid0, nint mid1, nint projection)
    {
        for (int l = 0; l < _layers; l++)
        {
            nint layerInput = l == 0 ? input : (l - 1) % 2 == 0 ? mid0 : mid1;
            nint layerOutput = l == _layers - 1 ? output : l % 2 == 0 ? mid0 : mid1;
            _projection[l].Bind(layerInput, projection);
            for (int d = 0; d < _directions; d++)
            {
                nint k = _step[l * _directions + d];
                _o.SetBuffer(k, ArgProj, projection);
                _o.SetBuffer(k, ArgY, layerOutput);
            }
        }
    }

    /// <summary>Per layer: the input projection of all steps, then one step kernel per step and direction.</summary>
    public void Enqueue(int steps, int parity0)
    {
        nuint* global = _o.Sizes, local = _o.Sizes + 2;
        int wg = _o.Device.StepWorkGroup;
        int groups = (_hidden + wg / _lanes - 1) / (wg / _lanes);
        for (int l = 0; l < _layers; l++)
        {
            _projection[l].Enqueue(steps * _batch);
            for (int d = 0; d < _directions; d++)
            {
                nint kernel = _step[l * _directions + d];
                _o.SetInt(kernel, ArgSteps, steps);
                _o.SetInt(kernel, ArgParity0, parity0);
                for (int s = 0; s < steps; s++)
                {
                    _o.SetInt(kernel, ArgStep, s);
                    global[0] = (nuint)(groups * wg);
                    global[1] = (nuint)((_batch + _batchBlock - 1) / _batchBlock);
                    local[0] = (nuint)wg;
                    local[1] = 1;
                    _o.Enqueue(kernel, 2, "clEnqueueNDRangeKernel(step)");
                }
            }
        }
    }

    /// <summary>The device buffers of the state (kernels are released by their owner).</summary>
    public void ReleaseBuffers()
    {
        _o.Release(ref _c);
        _o.Release(ref _hB);
        _o.Release(ref _hA);
    }
}
