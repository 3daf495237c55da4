using Silk.NET.OpenCL;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// One session's part of a recurrent module: its h double-buffered on the device (h_a, h_b: every step
/// of every layer and direction reads one and writes the other; since each takes the same number of
/// steps, the session's one parity bit says where the current state is), its c (LSTM), the input
/// projection kernels of each layer and the step kernels of each layer and direction (cl/steps.cl).
/// An LSTM with a projection has, per layer and direction, an lstm_project kernel too: the step
/// kernel leaves o * tanh(c') in the (B, H) scratch h_full, and lstm_project writes W_hr h_full to h
/// and to the output.
/// Kernel arguments are set once, except those that change per run (steps, parity) or per step (the
/// step index), and those that name scratch buffers, set again when the scratch grows.
/// </summary>
internal sealed unsafe class OpenCLModuleKernels
{
    // Argument indices of the step kernels (cl/steps.cl).
    private const uint ArgProj = 0, ArgProjStride = 1, ArgProjOff = 2, ArgWeightHh = 3, ArgBiasHn = 4,
        ArgHA = 5, ArgHB = 6, ArgC = 7, ArgHOff = 8, ArgY = 9, ArgYStride = 10, ArgYOff = 11, ArgSteps = 12,
        ArgReverse = 13, ArgParity0 = 14, ArgStep = 15, ArgBatch = 16, ArgHidden = 17, ArgHp = 18,
        ArgLanes = 19, ArgRelu = 20, ArgLocalH = 21, ArgLocalReduce = 22, ArgWidth = 23, ArgCOff = 24, ArgHFull = 25;

    // Argument indices of lstm_project (cl/steps.cl).
    private const uint PArgWeightHr = 0, PArgHFull = 1, PArgHA = 2, PArgHB = 3, PArgHOff = 4, PArgY = 5, PArgYStride = 6,
        PArgYOff = 7, PArgSteps = 8, PArgReverse = 9, PArgParity0 = 10, PArgStep = 11, PArgBatch = 12, PArgHidden = 13, PArgProj = 14;

    /// <summary>Work-items per work-group of lstm_project (each computes one h'[b, p]).</summary>
    private const int ProjectGroup = 32;

    private readonly OpenCLSessionObjects _o;
    private readonly OpenCLRecurrentModule _m;
    private readonly int _batch, _layers, _directions, _hidden, _width, _proj, _batchBlock, _lanes;
    private readonly OpenCLProjection[] _projection;   // [L]
    private readonly nint[] _step;                      // [L*D]
    private readonly nint[] _project;                   // [L*D]: lstm_project, or empty without a projection
    private nint _hA, _hB, _c, _hFull;

    public OpenCLModuleKernels(OpenCLSessionObjects o, OpenCLRecurrentModule module, int batch)
    {
        _o = o;
        _m = module;
        _batch = batch;
        _layers = module.Layer.NumLayers;
        _directions = module.Layer.NumDirections;
        _hidden = module.Layer.HiddenSize;
        _width = module.Layer.HiddenWidth;
        _proj = module.Layer.ProjSize;
        _batchBlock = batch > 1 ? module.MaxBatchBlock : 1;
        _lanes = o.LanesFor(module.PaddedHidden / 4);
        StateFloats = _layers * _directions * batch * _width;
        CellFloats = module.Layer.Spec.HasCellState ? _layers * _directions * batch * _hidden : 0;
        _hA = o.Buffer(MemFlags.ReadWrite, StateFloats);
        _hB = o.Buffer(MemFlags.ReadWrite, StateFloats);
        if (module.Layer.Spec.HasCellState) _c = o.Buffer(MemFlags.ReadWrite, CellFloats);
        if (_proj > 0) _hFull = o.Buffer(MemFlags.ReadWrite, (long)batch * _hidden);
        _projection = new OpenCLProjection[_layers];
        _step = new nint[_layers * _directions];
        _project = _proj > 0 ? new nint[_layers * _directions] : [];
        for (int l = 0; l < _layers; l++)
        {
            _projection[l] = new OpenCLProjection(o, module.Layer.Weights(l, 0).InputSize, module.ProjectionWidth, module.WeightIh(l), module.BiasInput(l));
            for (int d = 0; d < _directions; d++)
            {
                nint k = _step[l * _directions + d] = o.Kernel(module.StepKernelName(_batchBlock));
                SetFixedStepArgs(k, l, d);
                if (_proj > 0) SetFixedProjectArgs(_project[l * _directions + d] = o.Kernel("lstm_project"), l, d);
            }
        }
    }

    /// <summary>Floats of h: (L*D, B, H), or (L*D, B, P) with a projection.</summary>
    public int StateFloats { get; }

    /// <summary>Floats of c (LSTM): (L*D, B, H); 0 for the other cells.</summary>
    public int CellFloats { get; }

    public nint H(int parity) => parity == 0 ? _hA : _hB;
    public nint C => _c;

    private int OutputWidth => _directions * _width;

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
        o.SetInt(k, ArgHOff, (layer * _directions + dir) * _batch * _width);
        o.SetInt(k, ArgYStride, OutputWidth);
        o.SetInt(k, ArgYOff, dir * _width);
        o.SetInt(k, ArgReverse, dir);
        o.SetInt(k, ArgBatch, _batch);
        o.SetInt(k, ArgHidden, _hidden);
        o.SetInt(k, ArgHp, _m.PaddedHidden);
        o.SetInt(k, ArgLanes, _lanes);
        o.SetInt(k, ArgRelu, _m.Layer.Nonlinearity == RnnNonlinearity.Relu ? 1 : 0);
        o.SetLocal(k, ArgLocalH, 4L * _batchBlock * _m.PaddedHidden);
        o.SetLocal(k, ArgLocalReduce, 16L * _batchBlock * o.Device.StepWorkGroup);
        o.SetInt(k, ArgWidth, _width);
        o.SetInt(k, ArgCOff, (layer * _directions + dir) * _batch * _hidden);
        o.SetBuffer(k, ArgHFull, _hFull);
    }

    private void SetFixedProjectArgs(nint k, int layer, int dir)
    {
        OpenCLSessionObjects o = _o;
        o.SetBuffer(k, PArgWeightHr, _m.WeightHr(layer, dir));
        o.SetBuffer(k, PArgHFull, _hFull);
        o.SetBuffer(k, PArgHA, _hA);
        o.SetBuffer(k, PArgHB, _hB);
        o.SetInt(k, PArgHOff, (layer * _directions + dir) * _batch * _width);
        o.SetInt(k, PArgYStride, OutputWidth);
        o.SetInt(k, PArgYOff, dir * _width);
        o.SetInt(k, PArgReverse, dir);
        o.SetInt(k, PArgBatch, _batch);
        o.SetInt(k, PArgHidden, _hidden);
        o.SetInt(k, PArgProj, _proj);
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
                if (_proj > 0) _o.SetBuffer(_project[l * _directions + d], PArgY, layerOutput);
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
                nint project = _proj > 0 ? _project[l * _directions + d] : 0;
                if (project != 0)
                {
                    _o.SetInt(project, PArgSteps, steps);
                    _o.SetInt(project, PArgParity0, parity0);
                }
                for (int s = 0; s < steps; s++)
                {
                    _o.SetInt(kernel, ArgStep, s);
                    global[0] = (nuint)(groups * wg);
                    global[1] = (nuint)((_batch + _batchBlock - 1) / _batchBlock);
                    local[0] = (nuint)wg;
                    local[1] = 1;
                    _o.Enqueue(kernel, 2, "clEnqueueNDRangeKernel(step)");
                    if (project == 0) continue;
                    // h' = W_hr h_full, after the step kernel on the in-order queue: global (P, B),
                    // P rounded up to work-groups of ProjectGroup x 1.
                    _o.SetInt(project, PArgStep, s);
                    global[0] = (nuint)((_proj + ProjectGroup - 1) / ProjectGroup * ProjectGroup);
                    global[1] = (nuint)_batch;
                    local[0] = ProjectGroup;
                    local[1] = 1;
                    _o.Enqueue(project, 2, "clEnqueueNDRangeKernel(lstm_project)");
                }
            }
        }
    }

    /// <summary>The device buffers of the state (kernels are released by their owner).</summary>
    public void ReleaseBuffers()
    {
        _o.Release(ref _hFull);
        _o.Release(ref _c);
        _o.Release(ref _hB);
        _o.Release(ref _hA);
    }
}
