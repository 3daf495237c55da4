// RTNeural as a peer of the bench (Runtime.Bench/Peers/RtNeuralEngine.cs): a C ABI over RTNeural's
// compile-time models (RTNeural::ModelT, one C++ type per network of the per-sample scenarios) and its
// run-time model (RTNeural::json_parser::parseJson). Built by build.sh (this folder) once per RTNeural
// backend, -O3 -march=native, into artifacts/rtneural/librtneural_peer_<backend>.so, from an RTNeural
// checkout that is never part of this repository:
//   -DRTNEURAL_USE_EIGEN=1 | -DRTNEURAL_USE_XSIMD=1 | (neither: the STL backend)
// Both kinds of model load the same JSON (RTNeural's Keras-style layout: in_shape, layers[{type,
// activation, shape, weights}]), written by RtNeuralJson.cs from the bench's own seeded weights.
#include <RTNeural/RTNeural.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

namespace
{
namespace R = RTNeural;
using nlohmann::json;
using F = float;

struct Engine
{
    virtual ~Engine() = default;
    virtual void reset() = 0;
    /** One sample: x [I] -> y [O]. */
    virtual void forward(const F* x, F* y) = 0;
    int in = 0, out = 0;
};

template <typename M, int I, int O>
struct StaticEngine final : Engine
{
    // ModelT::forward reads a frame of I > 1 inputs with aligned SIMD loads of whole registers, so the
    // frame must be 64-byte aligned and padded to 16 floats, as a plugin's own input array would be. The
    // bench's input buffer is 64-byte aligned; a frame that is not (or is not a whole number of 16
    // floats) is first copied into this aligned, padded array.
    alignas(64) F frame[(I + 15) / 16 * 16] {};
    std::unique_ptr<M> m = std::make_unique<M>(); // over-aligned members: C++17 aligned new
    StaticEngine() { in = I; out = O; }
    void reset() override { m->reset(); }
    void forward(const F* x, F* y) override
    {
        if constexpr(I > 1)
        {
            if(I % 16 != 0 || (reinterpret_cast<std::uintptr_t>(x) & 63) != 0)
            {
                std::memcpy(frame, x, I * sizeof(F));
                x = frame;
            }
        }
        const F r = m->forward(x);
        if constexpr(O == 1)
            y[0] = r;
        else
            std::memcpy(y, m->getOutputs(), O * sizeof(F));
    }
};

struct DynamicEngine final : Engine
{
    std::unique_ptr<R::Model<F>> m;
    void reset() override { m->reset(); }
    void forward(const F* x, F* y) override
    {
        if(out == 1)
            y[0] = m->forward(x);
        else
        {
            m->forward(x);
            std::memcpy(y, m->getOutputs(), out * sizeof(F));
        }
    }
};

// The seven networks of the per-sample scenarios (Runtime.Bench/Suite/BenchNetwork.cs), as compile-time types.
using LSTM_1_40 = R::ModelT<F, 1, 1, R::LSTMLayerT<F, 1, 40>, R::DenseT<F, 40, 1>>;
using LSTM_1_16 = R::ModelT<F, 1, 1, R::LSTMLayerT<F, 1, 16>, R::DenseT<F, 16, 1>>;
using GRU_1_40 = R::ModelT<F, 1, 1, R::GRULayerT<F, 1, 40>, R::DenseT<F, 40, 1>>;
using LSTM_8x4 = R::ModelT<F, 1, 1, R::LSTMLayerT<F, 1, 8>, R::LSTMLayerT<F, 8, 8>, R::LSTMLayerT<F, 8, 8>,
    R::LSTMLayerT<F, 8, 8>, R::DenseT<F, 8, 1>>;
using GRU_8x4 = R::ModelT<F, 1, 1, R::GRULayerT<F, 1, 8>, R::GRULayerT<F, 8, 8>, R::GRULayerT<F, 8, 8>,
    R::GRULayerT<F, 8, 8>, R::DenseT<F, 8, 1>>;
using GRU_16_64 = R::ModelT<F, 16, 16, R::GRULayerT<F, 16, 64>, R::DenseT<F, 64, 16>>;
using LSTM_32_128 = R::ModelT<F, 32, 1, R::LSTMLayerT<F, 32, 128>, R::DenseT<F, 128, 1>>;

template <typename M, int I, int O>
std::unique_ptr<Engine> make_static(const json& j)
{
    auto e = std::make_unique<StaticEngine<M, I, O>>();
    e->m->parseJson(j, false); // ModelT's own loader; it skips a layer whose type or size differs (the bench's check catches that)
    e->m->reset();
    return e;
}

std::unique_ptr<Engine> make(const std::string& model, const json& j)
{
    if(model == "lstm40") return make_static<LSTM_1_40, 1, 1>(j);
    if(model == "lstm16") return make_static<LSTM_1_16, 1, 1>(j);
    if(model == "gru40") return make_static<GRU_1_40, 1, 1>(j);
    if(model == "lstm8x4") return make_static<LSTM_8x4, 1, 1>(j);
    if(model == "gru8x4") return make_static<GRU_8x4, 1, 1>(j);
    if(model == "gru64") return make_static<GRU_16_64, 16, 16>(j);
    if(model == "lstm128") return make_static<LSTM_32_128, 32, 1>(j);
    return nullptr;
}

void set_error(char* err, int len, const std::string& s)
{
    if(err && len > 0)
        std::snprintf(err, (size_t)len, "%s", s.c_str());
}
} // namespace

extern "C" {

#if defined(_WIN32)
#define RTNP_API __declspec(dllexport)
#else
#define RTNP_API __attribute__((visibility("default")))
#endif

/** A model from JSON text. model: "json" for json_parser::parseJson (RTNeural::Model, layers chosen at
 *  run time), or the name of one of the seven compile-time ModelT types. Null (and a message in err) on failure. */
RTNP_API void* rtnp_create(const char* json_text, const char* model, char* err, int err_len)
{
    try
    {
        const json j = json::parse(json_text);
        const std::string name = model ? model : "";
        std::unique_ptr<Engine> e;
        if(name == "json")
        {
            auto m = R::json_parser::parseJson<F>(j, false);
            if(!m)
            {
                set_error(err, err_len, "json_parser::parseJson returned null");
                return nullptr;
            }
            auto d = std::make_unique<DynamicEngine>();
            d->in = m->getInSize();
            d->out = m->getOutSize();
            d->m = std::move(m);
            d->m->reset();
            e = std::move(d);
        }
        else
        {
            e = make(name, j);
            if(!e)
            {
                set_error(err, err_len, "no compile-time ModelT for '" + name + "' in rtneural_peer.cpp");
                return nullptr;
            }
        }
        return e.release();
    }
    catch(const std::exception& ex)
    {
        set_error(err, err_len, std::string("exception: ") + ex.what());
        return nullptr;
    }
}

RTNP_API int rtnp_in_size(void* e) { return static_cast<Engine*>(e)->in; }
RTNP_API int rtnp_out_size(void* e) { return static_cast<Engine*>(e)->out; }
RTNP_API void rtnp_reset(void* e) { static_cast<Engine*>(e)->reset(); }

/** One sample: x [I] -> y [O], state carried. */
RTNP_API void rtnp_forward(void* e, const float* x, float* y) { static_cast<Engine*>(e)->forward(x, y); }

/** n samples one at a time, as a plugin's audio callback (and the shared harness) calls it: x [n, I] -> y [n, O]. */
RTNP_API void rtnp_process(void* e, const float* x, float* y, int n)
{
    auto* p = static_cast<Engine*>(e);
    const int in = p->in, out = p->out;
    for(int t = 0; t < n; ++t)
        p->forward(x + (size_t)t * in, y + (size_t)t * out);
}

RTNP_API void rtnp_free(void* e) { delete static_cast<Engine*>(e); }

/** The backend and its instruction set, for the report. */
RTNP_API const char* rtnp_info()
{
#if RTNEURAL_USE_XSIMD
    static const std::string s = std::string("xsimd ") + std::to_string(XSIMD_VERSION_MAJOR) + "." + std::to_string(XSIMD_VERSION_MINOR) + "."
        + std::to_string(XSIMD_VERSION_PATCH) + ", " + xsimd::default_arch::name() + " (" + std::to_string(xsimd::simd_type<float>::size) + " floats)";
#elif RTNEURAL_USE_EIGEN
    static const std::string s = std::string("Eigen ") + std::to_string(EIGEN_WORLD_VERSION) + "." + std::to_string(EIGEN_MAJOR_VERSION) + "."
        + std::to_string(EIGEN_MINOR_VERSION) + ", " + Eigen::SimdInstructionSetsInUse();
#else
    static const std::string s = "STL (plain loops, compiler auto-vectorisation)";
#endif
    return s.c_str();
}
}
