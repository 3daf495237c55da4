"""rnnrt.Model / rnnrt.Session against PyTorch's outputs (Runtime.Tests/Fixtures), and their errors.
Run: /usr/bin/python3 -m pytest -q Runtime.Native/python/tests (needs numpy and artifacts/native:
Runtime.Native/native.sh publish; without the library these tests are skipped, unless
RNNRT_REQUIRE_LIBRARY=1, as in ./build.sh test, makes that a failure)."""
import gc
import itertools
import os
import subprocess
import sys
import tracemalloc

import pytest

np = pytest.importorskip("numpy")
import rnnrt  # noqa: E402
from conftest import FIXTURES, PACKAGE_ROOT  # noqa: E402
from io_fixtures import Fixture, names  # noqa: E402

try:
    LIBRARY = rnnrt.library_path()
except rnnrt.Error as e:
    if os.environ.get("RNNRT_REQUIRE_LIBRARY") == "1":
        pytest.fail(f"RNNRT_REQUIRE_LIBRARY=1 but {e}", pytrace=False)
    pytest.skip(f"no librnnrt: {e}", allow_module_level=True)

TOLERANCE = 1e-5   # as Runtime.Tests' FixtureTests: rounding only, not a wrong formula
NAMES = names()
DENOISER = os.path.join(FIXTURES, "net_denoiser.safetensors")   # 6 layers, input 42, output 22
BIGRU = os.path.join(FIXTURES, "gru_bi_l2_b3.safetensors")


def test_fixtures_are_here():
    assert {"net_options_layers", "lstm_prefixed_l1_b1", "rnn_relu_plain_l2_b3", "rnn_cell_relu_b3"} <= set(NAMES)
    assert len(NAMES) >= 33


def load(f, backend):
    return rnnrt.Model(f.model_path, backend, **f.options())


@pytest.mark.parametrize("backend", ["reference", "auto"])
@pytest.mark.parametrize("name", NAMES)
def test_run_matches_pytorch(name, backend):
    f = Fixture(name)
    with load(f, backend) as m, m.session(f.batch) as s:
        assert m.info.input_size == f.x.shape[2] and m.info.output_size == f.y.shape[2]
        assert m.info.state_size * f.batch == f.state_n.size
        assert m.info.num_directions == (2 if f.bidirectional else 1)
        s.set_state(f.state0)
        ys = s.run(f.x)
        assert ys.shape == f.y.shape and ys.dtype == np.float32
        np.testing.assert_allclose(ys, f.y, rtol=0, atol=TOLERANCE)
        np.testing.assert_allclose(s.get_state(), f.state_n, rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("backend", ["reference", "auto"])
@pytest.mark.parametrize("name", NAMES)
def test_steps_match_pytorch(name, backend):
    f = Fixture(name)
    with load(f, backend) as m, m.session(f.batch) as s:
        s.set_state(f.state0)
        if f.bidirectional:
            with pytest.raises(rnnrt.Error) as e:
                s.step(f.x[0])
            assert e.value.status == "RNNRT_INVALID_ARGUMENT" and "bidirectional" in e.value.message
            np.testing.assert_array_equal(s.get_state(), f.state0)   # unchanged by the refusal
            return
        y = np.empty(f.y.shape[1:], np.float32)
        for t in range(f.steps):
            assert s.step(f.x[t], out=y) is y
            np.testing.assert_allclose(y, f.y[t], rtol=0, atol=TOLERANCE, err_msg=f"step {t}")
        np.testing.assert_allclose(s.get_state(), f.state_n, rtol=0, atol=TOLERANCE)


def test_info_has_every_field():
    f = Fixture("net_options_layers")
    with rnnrt.Model(f.model_path, "reference", layers=["fc_in", "relu", "gru", "fc", "tanh"]) as m:
        assert m.info.weight_bytes > 4 * 3 * 37 * 37
        assert m.info == rnnrt.ModelInfo(cell="gru", nonlinearity="tanh", input_size=13, hidden_size=37, num_layers=1,
                                         num_directions=1, output_size=13, has_bias=True, state_size=37,
                                         backend="reference", layer_count=5, threads=1, weight_format="float32",
                                         weight_bytes=m.info.weight_bytes)
    with rnnrt.Model(os.path.join(FIXTURES, "rnn_relu_l2_b3.safetensors")) as m:
        i = m.info
        assert (i.cell, i.nonlinearity, i.num_layers, i.layer_count) == ("rnn", "relu", 2, 1)
        assert i.backend in ("sse", "neon", "avx2", "avx512", "opencl") and i.backend == rnnrt.Model(m_path := BIGRU).info.backend
    with rnnrt.Model(os.path.join(FIXTURES, "lstm_nobias_l1_b3.safetensors"), "reference") as m:
        assert (m.info.cell, m.info.has_bias, m.info.state_size) == ("lstm", False, 2 * 37)
    assert m_path


def test_layers_describe_every_layer():
    L = rnnrt.LayerInfo
    with rnnrt.Model(DENOISER, "reference") as m:
        assert m.info.input_size == 42 and m.info.hidden_size == 24   # info: the first recurrent module only
        assert m.layers == (
            L("linear", "fc_in", 42, 24, 0, 0, 0, 0, "", True, 0),
            L("tanh", "tanh", 24, 24, 0, 0, 0, 0, "", False, 0),
            L("gru", "gru1", 24, 24, 24, 1, 1, 0, "tanh", True, 24),
            L("gru", "gru2", 24, 48, 48, 1, 1, 0, "tanh", True, 48),
            L("linear", "fc", 48, 22, 0, 0, 0, 0, "", True, 0),
            L("sigmoid", "sigmoid", 22, 22, 0, 0, 0, 0, "", False, 0))
        assert sum(layer.state_size for layer in m.layers) == m.info.state_size
    with rnnrt.Model(os.path.join(FIXTURES, "lstm_proj_bi_l2_b3.safetensors"), "reference") as m:
        assert m.layers == (L("lstm", "", 13, 22, 37, 2, 2, 11, "tanh", True, 2 * 2 * (11 + 37)),)
    with rnnrt.Model(os.path.join(FIXTURES, "rnn_relu_l2_b3.safetensors"), "reference") as m:
        (only,) = m.layers
        assert (only.kind, only.nonlinearity, only.num_layers) == ("rnn", "relu", 2)
    with pytest.raises(rnnrt.Error) as e:
        m.layers
    assert e.value.status == "RNNRT_INVALID_HANDLE"


def test_threads_and_weight_format_options():
    path = os.path.join(FIXTURES, "rnn_relu_l2_b3.safetensors")
    with rnnrt.Model(path, threads=2) as m:
        assert m.info.threads == 2
    with rnnrt.Model(path, threads=0) as m:
        assert m.info.threads >= 1   # the core count as .NET sees it (Environment.ProcessorCount)
    for bad in (-1, 257, 1.5, True):
        with pytest.raises(rnnrt.Error) as e:
            rnnrt.Model(path, threads=bad)
        assert e.value.status == "RNNRT_INVALID_ARGUMENT" and "threads" in e.value.message
    with rnnrt.Model(path) as m:
        full = m.info.weight_bytes
        x = [0.25] * m.info.input_size
        y32 = m.session(1).run([x])
    for fmt, most in (("bfloat16", 0.6), ("int8", 0.35)):
        with rnnrt.Model(path, weight_format=fmt) as m:
            assert m.info.weight_format == fmt and m.info.weight_bytes < most * full
            y = m.session(1).run([x])
            assert max(abs(a - b) for a, b in zip(y.ravel(), y32.ravel())) < 0.1   # narrow, not another model
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(path, backend="opencl", weight_format="int8")
    assert e.value.status == "RNNRT_BACKEND_UNAVAILABLE" and "float32 weights only" in e.value.message
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(path, weight_format="float16")
    assert e.value.status == "RNNRT_INVALID_ARGUMENT" and "weight_format" in e.value.message


def test_prefix_and_from_bytes():
    f = Fixture("lstm_prefixed_l1_b1")
    data = open(f.model_path, "rb").read()
    for m in (rnnrt.Model(f.model_path, "reference", prefix="encoder.lstm"),
              rnnrt.Model.from_bytes(data, "reference", prefix="encoder.lstm")):
        with m, m.session() as s:
            s.set_state(f.state0)
            np.testing.assert_allclose(s.run(f.x), f.y, rtol=0, atol=TOLERANCE)
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(f.model_path, prefix="decoder")
    assert e.value.status == "RNNRT_FORMAT" and "decoder" in e.value.message


def test_nonlinearity_option():
    path = os.path.join(FIXTURES, "rnn_relu_plain_l2_b3.safetensors")
    with rnnrt.Model(path) as tanh, rnnrt.Model(path, nonlinearity="relu") as relu:
        assert (tanh.info.nonlinearity, relu.info.nonlinearity) == ("tanh", "relu")
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(path, nonlinearity="gelu")
    assert e.value.status == "RNNRT_INVALID_ARGUMENT" and "gelu" in e.value.message
    with pytest.raises(rnnrt.Error) as e:   # the file says relu: the option may not contradict it
        rnnrt.Model(os.path.join(FIXTURES, "rnn_relu_l2_b3.safetensors"), nonlinearity="tanh")
    assert e.value.status in ("RNNRT_FORMAT", "RNNRT_INVALID_ARGUMENT"), e.value


def test_layers_option_is_needed_for_a_plain_state_dict():
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(os.path.join(FIXTURES, "net_options_layers.safetensors"), layers=["fc_in", "gelu", "gru"])
    assert e.value.status == "RNNRT_FORMAT" and "gelu" in e.value.message
    with pytest.raises(TypeError):
        rnnrt.Model(DENOISER, layers="fc_in")


def test_batch_one_takes_vectors_and_sequences_without_batch_axis():
    f = Fixture("gru_l1_b1")
    with rnnrt.Model(f.model_path) as m, m.session() as s:
        s.set_state(f.state0)
        ys = s.run(f.x[:, 0, :])                 # [T, I] -> [T, O]
        assert ys.shape == (f.steps, m.info.output_size)
        np.testing.assert_allclose(ys, f.y[:, 0, :], rtol=0, atol=TOLERANCE)
        s.set_state(f.state0.reshape(1, 1, -1))  # PyTorch's h0 [L*D, B, H] as it is
        y = s.step(f.x[0, 0])                    # [I] -> [O]
        assert y.shape == (m.info.output_size,)
        np.testing.assert_allclose(y, f.y[0, 0], rtol=0, atol=TOLERANCE)
        state = np.empty(m.info.state_size, np.float32)
        assert s.get_state(out=state) is state
        np.testing.assert_array_equal(state, y)  # a lone GRU's output is its last layer's h


def test_inputs_of_other_types_and_layouts_are_converted_once():
    f = Fixture("net_denoiser")
    with rnnrt.Model(f.model_path, "reference") as m, m.session(f.batch) as s:
        s.set_state(f.state0)
        want = s.run(f.x)
        x64 = f.x.astype(np.float64)
        strided = np.asfortranarray(f.x)         # not C-contiguous
        for xs in (x64, strided, f.x.tolist()):
            s.set_state(f.state0.astype(np.float64))
            np.testing.assert_array_equal(s.run(xs), want)
        np.testing.assert_array_equal(x64, f.x)  # inputs are never written
    c = np.zeros((3, 42), np.float32)
    from rnnrt import runtime
    assert runtime._as_input(c) is c             # a C-contiguous float32 input is used as it is
    assert runtime._as_input(c[:, ::2]) is not c


def test_out_is_the_result_and_a_streaming_loop_allocates_nothing():
    with rnnrt.Model(DENOISER) as m, m.session(64) as s:
        x = np.random.default_rng(1).uniform(-1, 1, (64, 42)).astype(np.float32)
        y = np.empty((64, 22), np.float32)          # 5632 bytes: a new one per step would show
        ys = np.empty((5, 64, 22), np.float32)
        assert s.run(np.stack([x] * 5), out=ys) is ys
        for _ in range(50):                          # warm up: caches, ctypes, the library's pools
            assert s.step(x, out=y) is y
        gc.collect()
        tracemalloc.start()
        try:
            for _ in itertools.repeat(None, 100):    # what tracing itself allocates first
                s.step(x, out=y)
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            for _ in itertools.repeat(None, 1000):
                s.step(x, out=y)
            after, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # Nothing kept (no growth) and no array-sized temporaries (the peak stays far below y.nbytes).
        assert after <= before and peak - before < 1024, (before, after, peak)


def test_out_must_fit():
    with rnnrt.Model(DENOISER) as m, m.session(3) as s:
        x = np.zeros((3, 42), np.float32)
        for out, status in [(np.empty((3, 21), np.float32), "RNNRT_SHAPE_MISMATCH"),
                            (np.empty((22, 3), np.float32), "RNNRT_SHAPE_MISMATCH"),
                            (np.empty((3, 22), np.float64), "RNNRT_INVALID_ARGUMENT"),
                            (np.empty((3, 44), np.float32)[:, ::2], "RNNRT_INVALID_ARGUMENT"),
                            ([0.0] * 66, "RNNRT_INVALID_ARGUMENT")]:
            with pytest.raises(rnnrt.Error) as e:
                s.step(x, out=out)
            assert e.value.status == status, (out, e.value)
        with pytest.raises(rnnrt.Error) as e:
            s.run(np.zeros((4, 3, 42), np.float32), out=np.empty((5, 3, 22), np.float32))
        assert e.value.status == "RNNRT_SHAPE_MISMATCH"
        same = np.zeros((3, 42), np.float32)
        with rnnrt.Model(os.path.join(FIXTURES, "rnn_h64_l1_b1.safetensors")) as sq, sq.session() as s2:
            v = np.zeros(64, np.float32)
            with pytest.raises(rnnrt.Error) as e:   # x and y the same memory: the library refuses
                s2.step(v, out=v)
            assert e.value.status == "RNNRT_INVALID_ARGUMENT" and "overlap" in e.value.message
        assert same.any() == False  # noqa: E712


def test_errors_carry_status_and_message(tmp_path):
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(tmp_path / "missing.safetensors")
    assert e.value.status == "RNNRT_IO" and e.value.code == 3 and "missing.safetensors" in e.value.message
    assert str(e.value).startswith("RNNRT_IO: rnnrt_model_load_ex")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a safetensors file at all")
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(bad)
    assert e.value.status == "RNNRT_FORMAT"
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(DENOISER, "no-such-backend")
    assert e.value.status == "RNNRT_BACKEND_UNAVAILABLE" and "no-such-backend" in e.value.message
    with rnnrt.Model(DENOISER) as m:
        for batch in (0, -1, 65537, 2 ** 40):
            with pytest.raises(rnnrt.Error) as e:
                m.session(batch)
            assert e.value.status == "RNNRT_INVALID_ARGUMENT"


def test_wrong_shapes():
    with rnnrt.Model(DENOISER) as m, m.session(3) as s:
        for x in (np.zeros((3, 41), np.float32), np.zeros((42, 3), np.float32), np.zeros(126, np.float32),
                  np.zeros(42, np.float32), np.zeros((1, 3, 42), np.float32), np.float32(1)):
            with pytest.raises(rnnrt.Error) as e:
                s.step(x)
            assert e.value.status == "RNNRT_SHAPE_MISMATCH" and "[3, 42]" in e.value.message, e.value
        for xs in (np.zeros((5, 2, 42), np.float32), np.zeros((5, 42), np.float32), np.zeros((3, 42), np.float32)):
            with pytest.raises(rnnrt.Error) as e:
                s.run(xs)
            assert e.value.status == "RNNRT_SHAPE_MISMATCH", e.value
        with pytest.raises(rnnrt.Error) as e:
            s.set_state(np.zeros(m.info.state_size, np.float32))
        assert e.value.status == "RNNRT_SHAPE_MISMATCH" and "216" in e.value.message
        with pytest.raises(rnnrt.Error) as e:
            s.get_state(out=np.empty(10, np.float32))
        assert e.value.status == "RNNRT_SHAPE_MISMATCH"
        assert s.run(np.zeros((0, 3, 42), np.float32)).shape == (0, 3, 22)   # no steps: nothing happens


def test_non_finite_values_are_refused_and_change_nothing():
    with rnnrt.Model(DENOISER) as m, m.session(3) as s:
        x = np.random.default_rng(2).uniform(-1, 1, (3, 42)).astype(np.float32)
        s.step(x)
        state = s.get_state()
        y = np.full((3, 22), 7, np.float32)
        for bad in (np.nan, np.inf):
            x2 = x.copy()
            x2[1, 5] = bad
            with pytest.raises(rnnrt.Error) as e:
                s.step(x2, out=y)
            assert e.value.status == "RNNRT_INVALID_ARGUMENT", e.value
            with pytest.raises(rnnrt.Error) as e:
                s.run(x2[None])
            assert e.value.status == "RNNRT_INVALID_ARGUMENT"
            with pytest.raises(rnnrt.Error) as e:
                s.set_state(np.full(state.shape, bad, np.float32))
            assert e.value.status == "RNNRT_INVALID_ARGUMENT"
        assert (y == 7).all()
        np.testing.assert_array_equal(s.get_state(), state)


def test_state_reset_and_independent_sessions():
    with rnnrt.Model(DENOISER) as m, m.session(3) as a, m.session(3) as b:
        x = np.random.default_rng(3).uniform(-1, 1, (4, 3, 42)).astype(np.float32)
        ya = a.run(x)
        assert a.get_state().any() and not b.get_state().any()
        a.reset()
        assert not a.get_state().any()
        np.testing.assert_array_equal(a.run(x), ya)
        b.set_state(a.get_state())
        np.testing.assert_array_equal(a.step(x[0]), b.step(x[0]))


def test_state_slots_leave_the_other_streams_alone():
    with rnnrt.Model(DENOISER) as m, m.session(3) as s, m.session(1) as one:
        n = m.info.state_size
        x = np.random.default_rng(5).uniform(-1, 1, (4, 3, 42)).astype(np.float32)
        s.run(x)
        whole = s.get_state()
        slots = [s.get_state(slot=b) for b in range(3)]
        assert all(v.shape == (n,) for v in slots)
        one.set_state(slots[1])                    # a slot's state is a batch-1 session's state
        np.testing.assert_array_equal(one.get_state(), slots[1])
        new = np.random.default_rng(6).uniform(-1, 1, n).astype(np.float32)
        s.set_state(new, slot=1)
        np.testing.assert_array_equal(s.get_state(slot=1), new)
        for b in (0, 2):
            np.testing.assert_array_equal(s.get_state(slot=b), slots[b])
        s.reset(slot=0)
        assert not s.get_state(slot=0).any()
        np.testing.assert_array_equal(s.get_state(slot=2), slots[2])
        out = np.empty(n, np.float32)
        assert s.get_state(out=out, slot=2) is out
        before = s.get_state()
        bad = new.copy()
        bad[3] = np.nan
        for call, status in ((lambda: s.reset(slot=3), "RNNRT_INVALID_ARGUMENT"),
                             (lambda: s.get_state(slot=-1), "RNNRT_INVALID_ARGUMENT"),
                             (lambda: s.set_state(new, slot=7), "RNNRT_INVALID_ARGUMENT"),
                             (lambda: s.set_state(new[:-1], slot=1), "RNNRT_SHAPE_MISMATCH"),
                             (lambda: s.set_state(bad, slot=1), "RNNRT_INVALID_ARGUMENT")):
            with pytest.raises(rnnrt.Error) as e:
                call()
            assert e.value.status == status and e.value.message
        np.testing.assert_array_equal(s.get_state(), before)
        assert whole.size == 3 * n


def test_step_active_equals_the_streams_stepped_alone():
    with rnnrt.Model(DENOISER) as m, m.session(3) as s, m.session(1) as a, m.session(1) as b:
        x = np.random.default_rng(7).uniform(-1, 1, (3, 2, 42)).astype(np.float32)
        for t in range(3):
            before = s.get_state(slot=1)
            y = s.step(x[t], active=[2, 0])
            np.testing.assert_array_equal(y[0], b.step(x[t, 0:1])[0])
            np.testing.assert_array_equal(y[1], a.step(x[t, 1:2])[0])
            np.testing.assert_array_equal(s.get_state(slot=1), before)
        np.testing.assert_array_equal(s.get_state(slot=0), a.get_state())
        np.testing.assert_array_equal(s.get_state(slot=2), b.get_state())
        whole = s.get_state()
        for act, xx, status in (([1, 1], x[0], "RNNRT_INVALID_ARGUMENT"), ([0, 3], x[0], "RNNRT_INVALID_ARGUMENT"),
                                ([0], x[0], "RNNRT_SHAPE_MISMATCH"), ([0.5, 1], x[0], "RNNRT_INVALID_ARGUMENT")):
            with pytest.raises(rnnrt.Error) as e:
                s.step(xx, active=act)
            assert e.value.status == status and e.value.message
        np.testing.assert_array_equal(s.get_state(), whole)


def test_use_after_close_raises_never_crashes():
    m = rnnrt.Model(DENOISER)
    s = m.session(2)
    m.close()
    assert m.closed and "closed" in repr(m)
    x = np.zeros((2, 42), np.float32)
    assert s.step(x).shape == (2, 22)          # a session outlives its model's handle
    assert s.info.output_size == 22
    for call in (lambda: m.info, lambda: m.session(1)):
        with pytest.raises(rnnrt.Error) as e:
            call()
        assert e.value.status == "RNNRT_INVALID_HANDLE" and "close" in e.value.message
    s.close()
    s.close()                                  # idempotent
    m.close()
    for call in (lambda: s.step(x), lambda: s.run(x[None]), lambda: s.get_state(), lambda: s.reset(),
                 lambda: s.set_state(np.zeros(2 * 72, np.float32))):
        with pytest.raises(rnnrt.Error) as e:
            call()
        assert e.value.status == "RNNRT_INVALID_HANDLE"
    with rnnrt.Model(DENOISER) as m2, m2.session() as s2:
        pass
    assert m2.closed and s2.closed
    with pytest.raises(rnnrt.Error):
        s2.step(np.zeros(42, np.float32))


def test_a_session_keeps_its_model_alive():
    # The rule of C# and C too: closing a model refuses new sessions; its sessions keep every call.
    x = np.random.default_rng(5).uniform(-1, 1, (3, 2, 42)).astype(np.float32)
    with rnnrt.Model(DENOISER) as live, live.session(2) as want:
        expected = [want.step(x[t]) for t in range(3)]
        expected_state = want.get_state()
    m = rnnrt.Model(DENOISER)
    s = m.session(2)
    m.close()
    del m
    gc.collect()
    for t in range(3):
        np.testing.assert_array_equal(s.step(x[t]), expected[t])
    np.testing.assert_array_equal(s.get_state(), expected_state)
    s.reset()
    assert not s.get_state().any()
    s.set_state(expected_state)
    assert s.run(x).shape == (3, 2, 22)
    s.close()


def test_library_found_in_source_tree_and_version_agrees():
    if os.environ.get("RNNRT_LIBRARY"):
        pytest.skip("RNNRT_LIBRARY is set: the search order is not in play")
    assert LIBRARY == os.path.join(os.path.dirname(os.path.dirname(PACKAGE_ROOT)), "artifacts", "native", "librnnrt.so")
    assert rnnrt.library_version() == rnnrt.__version__


def _python(code, env=None, cwd=None):
    e = {k: v for k, v in os.environ.items() if k != "RNNRT_LIBRARY"}
    e.update(env or {})
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, cwd=cwd, timeout=60)


def test_library_search_order(tmp_path):
    """RNNRT_LIBRARY first (and only); then the package's lib/ folder."""
    r = _python(f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); import rnnrt\n"
                "try: rnnrt.Model('x')\nexcept rnnrt.Error as e: print(e.status, e.message)",
                env={"RNNRT_LIBRARY": str(tmp_path / "nowhere.so")})
    assert r.stdout.startswith("RNNRT_BACKEND_UNAVAILABLE") and "nowhere.so" in r.stdout, r.stdout + r.stderr
    # A copy of the package with the library in lib/ (the loader copied, its builds linked beside it).
    import shutil
    pkg = tmp_path / "site" / "rnnrt"
    shutil.copytree(os.path.join(PACKAGE_ROOT, "rnnrt"), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    native = os.path.realpath(os.path.dirname(LIBRARY))
    (pkg / "lib").mkdir()
    shutil.copyfile(os.path.join(native, "librnnrt.so"), pkg / "lib" / "librnnrt.so.0")
    for b in ("librnnrt_v3.so", "librnnrt_v4.so"):
        os.symlink(os.path.join(native, b), pkg / "lib" / b)
    r = _python(f"import sys; sys.path.insert(0, {str(tmp_path / 'site')!r}); import rnnrt\n"
                f"m = rnnrt.Model({DENOISER!r}); print(rnnrt.library_path(), m.info.layer_count)", cwd=str(tmp_path))
    assert r.returncode == 0 and r.stdout.split() == [str(pkg / "lib" / "librnnrt.so.0"), "6"], r.stdout + r.stderr


def test_import_needs_neither_numpy_nor_torch():
    r = _python(f"import sys; sys.path.insert(0, {PACKAGE_ROOT!r}); sys.modules['numpy'] = sys.modules['torch'] = None\n"
                "import rnnrt\n"
                "print(rnnrt.__version__, issubclass(rnnrt.Error, Exception), callable(rnnrt.save))\n"
                "try: rnnrt.Model\nexcept ImportError as e: print('Model needs', e.name)")
    assert r.returncode == 0 and r.stdout.split() == [rnnrt.__version__, "True", "True", "Model", "needs", "numpy"], \
        r.stdout + r.stderr


def test_readme_run_example_runs_as_printed(monkeypatch, capsys):
    readme = open(os.path.join(PACKAGE_ROOT, "..", "README.md")).read()
    code = readme.split("<!-- test: python-run -->\n```python\n", 1)[1].split("```\n", 1)[0]
    monkeypatch.chdir(os.path.join(PACKAGE_ROOT, "..", ".."))     # the repository root, as the README says
    exec(compile(code, "README.md", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1 layer(s), input 64, output 256, ") and lines[1] == "RNNRT_IO", lines


def test_device_option_reaches_the_opencl_backend():
    path = os.path.join(FIXTURES, "gru_l1_b1.safetensors")
    try:
        rnnrt.Model(path, "opencl").close()
    except rnnrt.Error as e:
        pytest.skip(f"no OpenCL here: {e.message}")
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(path, "opencl", device="no-such-device")
    assert e.value.status == "RNNRT_BACKEND_UNAVAILABLE" and "no-such-device" in e.value.message


STRICT = os.path.join(FIXTURES, "Strict")


def test_nothing_is_dropped_and_entries_say_their_kind():
    """The whole network or nothing (issue 22): a state_dict of Linear -> GRU -> Linear is refused as
    its GRU alone, and loads, equal to PyTorch, with its layers (the explicit kind:prefix entries too)."""
    from io_fixtures import read_safetensors
    meta, io = read_safetensors(os.path.join(STRICT, "fc_gru_fc.io.safetensors"))
    path = os.path.join(STRICT, "fc_gru_fc.pt")
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(path, "reference")
    assert e.value.status == "RNNRT_FORMAT"
    assert "4 tensors of the file belong to no layer: fc_in.weight, fc_in.bias, fc.weight, fc.bias" in e.value.message
    checkpoint = os.path.join(STRICT, "fc_gru_fc_checkpoint.pt")
    for m in (rnnrt.Model(path, "reference", layers=["linear:fc_in", "gru:gru", "linear:fc"]),
              rnnrt.Model(checkpoint, "reference", prefix="model", layers=["fc_in", "gru", "fc"])):
        with m, m.session(2) as s:
            s.set_state(io["state0"])
            np.testing.assert_allclose(s.run(io["x"]), io["y"], rtol=0, atol=TOLERANCE)
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(checkpoint, "reference", layers=["model.fc_in", "model.gru", "model.fc"])
    assert "set RnnOptions.Prefix to 'model', the prefix under which the used tensors live" in e.value.message
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(path, layers=["fc_in", "leaky_relu(0.2)", "gru", "fc"])
    assert "'leaky_relu(0.2)': leaky_relu (nn.LeakyReLU) is not supported yet" in e.value.message
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(os.path.join(STRICT, "ln_gru.pt"), layers=["fc_in", "ln", "gru"])
    assert "'ln' holds a LayerNorm-shaped tensor set (weight, bias of shape (16)); layer_norm is not supported yet" in e.value.message
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(os.path.join(STRICT, "emb_gru.pt"), layers=["emb", "gru"])
    assert "say which, 'linear:emb' or 'embedding:emb'" in e.value.message


@pytest.mark.parametrize("name, words", [
    ("gru.onnx", "this is an ONNX model (ir_version 7, producer 'pytorch'), which rnnrt does not read yet"),
    ("array.npy", "this is a numpy array (.npy, numpy.save), not a model"),
    ("arrays.npz", "this is a numpy archive of arrays (.npz, numpy.savez), not a model"),
    ("layers.json", "this is a JSON text file"),
    ("", "is a directory, not a model file"),
])
def test_files_that_are_not_models_are_named(name, words):
    with pytest.raises(rnnrt.Error) as e:
        rnnrt.Model(os.path.join(STRICT, name) if name else STRICT)
    assert e.value.status == ("RNNRT_FORMAT" if name else "RNNRT_IO") and words in e.value.message, e.value
    if name:
        with pytest.raises(rnnrt.Error) as e:
            rnnrt.Model.from_bytes(open(os.path.join(STRICT, name), "rb").read())
        assert words in e.value.message, e.value
