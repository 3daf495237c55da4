using System.Diagnostics;
using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>
/// The loader's contract under hostile input: every file either loads or fails with an
/// RnnModelException that says what is wrong. Tens of thousands of seeded mutations of every committed
/// fixture and of the bundled model (see <see cref="ModelMutator"/>), the committed afl++ corpus and
/// the fuzzer's findings; anything else (another exception type, an empty message, a load that takes
/// seconds) fails and prints how to reproduce it.
///
/// Reproduce one case: RNNRT_MUTATION_SEED=S RNNRT_MUTATION_CASE=file.safetensors:N dotnet Runtime.Tests.dll
/// -class RnnRuntime.Tests.LoaderMutationTests; RNNRT_MUTATIONS=N changes the cases per fixture.
/// </summary>
public class LoaderMutationTests
{
    private static readonly RnnOptions Ref = new() { Backend = "reference" };
    private const int DefaultSeed = 20261202;
    private const int DefaultCasesPerFixture = 600;
    private const int BundledCases = 300;   // 1 MB each: the loads that succeed convert 250k weights

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("RNNRT_MUTATION_SEED"), out int s) ? s : DefaultSeed;

    public static IEnumerable<string> Fixtures =>
        Directory.EnumerateFiles(PyTorchFixture.Folder, "*.safetensors").OrderBy(p => p, StringComparer.Ordinal);

    public static string BundledModel => Path.Combine(AppContext.BaseDirectory, "Models", "gru_i64_h256.safetensors");

    private enum Outcome { Loaded, Rejected }

    /// <summary>Loads once; returns what happened or throws with the reproduction in the message.</summary>
    private static Outcome Check(byte[] bytes, string what)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using RnnModel m = RnnModel.Load(bytes, Ref);
            // A model that loaded is usable: one step from the zero state gives finite outputs.
            if (m.NumDirections == 1)
            {
                using RnnSession s = m.CreateSession();
                var y = new float[m.OutputSize];
                s.Step(new float[m.InputSize], y);
                if (!y.All(float.IsFinite))
                    throw new Xunit.Sdk.XunitException($"{what}: the model loaded but a step from zero gave non-finite outputs");
            }
            return Outcome.Loaded;
        }
        catch (RnnModelException e)
        {
            if (string.IsNullOrWhiteSpace(e.Message))
                throw new Xunit.Sdk.XunitException($"{what}: RnnModelException with an empty message");
            return Outcome.Rejected;
        }
        catch (Exception e)
        {
            string path = Path.Combine(Path.GetTempPath(), $"rnnrt-mutation-{Guid.NewGuid():N}.safetensors");
            File.WriteAllBytes(path, bytes);
            throw new Xunit.Sdk.XunitException($"{what}: {e.GetType().FullName}: {e.Message} (bytes in {path})\n{e.StackTrace}");
        }
        finally
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(5))
                throw new Xunit.Sdk.XunitException($"{what}: the load took {clock.Elapsed.TotalSeconds:F1} s");
        }
    }

    [Fact]
    public void EveryMutatedFileLoadsOrFailsWithRnnModelException()
    {
        int seed = Seed;
        int perFixture = int.TryParse(Environment.GetEnvironmentVariable("RNNRT_MUTATIONS"), out int n) ? n : DefaultCasesPerFixture;
        string? only = Environment.GetEnvironmentVariable("RNNRT_MUTATION_CASE");

        var files = Fixtures.Select(p => (Path: p, Cases: perFixture)).ToList();
        Assert.True(files.Count >= 20, $"expected the committed fixtures in {PyTorchFixture.Folder}");
        Assert.True(File.Exists(BundledModel), $"the bundled model {BundledModel} is not beside the tests");
        files.Add((BundledModel, Math.Min(perFixture, BundledCases)));

        var failures = new List<string>();
        int total = 0, loaded = 0, rejected = 0;
        var clock = Stopwatch.StartNew();
        foreach (var (path, cases) in files)
        {
            string name = Path.GetFileName(path);
            var mutator = new ModelMutator(name, File.ReadAllBytes(path));
            int first = 0, last = cases;
            if (only is not null)
            {
                int colon = only.LastIndexOf(':');
                if (only[..colon] != name) continue;
                first = int.Parse(only[(colon + 1)..]);
                last = first + 1;
            }
            for (int i = first; i < last; i++)
            {
                var (bytes, what) = mutator.Mutate(seed, i);
                string repro = $"RNNRT_MUTATION_SEED={seed} RNNRT_MUTATION_CASE={name}:{i} [{what}]";
                total++;
                try
                {
                    if (Check(bytes, repro) == Outcome.Loaded) loaded++; else rejected++;
                }
                catch (Xunit.Sdk.XunitException e)
                {
                    failures.Add(e.Message);
                    if (failures.Count >= 20) break;
                }
            }
        }
        clock.Stop();
        string summary = $"{total} mutated files from {files.Count} models in {clock.Elapsed.TotalSeconds:F2} s: {loaded} loaded, {rejected} rejected with RnnModelException, {failures.Count} broke the contract (seed {seed})";
        TestContext.Current.SendDiagnosticMessage(summary);
        TestContext.Current.TestOutputHelper?.WriteLine(summary);
        Assert.True(failures.Count == 0, summary + "\n" + string.Join("\n", failures));
        if (only is null) Assert.True(rejected > total / 4 && loaded > 0, "the mutations should both break and keep files: " + summary);
    }

    /// <summary>afl++'s minimised corpus (./build.sh fuzz, then afl-cmin), replayed in one go.</summary>
    [Fact]
    public void FuzzCorpusLoadsOrFailsWithRnnModelException()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "Fuzz", "corpus");
        if (!Directory.Exists(dir)) return;
        var failures = new List<string>();
        foreach (string f in Directory.EnumerateFiles(dir).OrderBy(p => p, StringComparer.Ordinal))
        {
            try { Check(File.ReadAllBytes(f), "Fuzz/corpus/" + Path.GetFileName(f)); }
            catch (Xunit.Sdk.XunitException e) { failures.Add(e.Message); }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    /// <summary>Every input the fuzzer flagged (Runtime.Tests/Fuzz/regressions), one case each.</summary>
    public static TheoryData<string> Regressions
    {
        get
        {
            var data = new TheoryData<string>();
            string dir = Path.Combine(AppContext.BaseDirectory, "Fuzz", "regressions");
            if (Directory.Exists(dir))
                foreach (string f in Directory.EnumerateFiles(dir).OrderBy(p => p, StringComparer.Ordinal))
                    data.Add(Path.GetFileName(f));
            if (data.Count == 0) data.Add("(none)");
            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Regressions))]
    public void FuzzFindingLoadsOrFailsWithRnnModelException(string file)
    {
        if (file == "(none)") return;
        Check(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fuzz", "regressions", file)), "Fuzz/regressions/" + file);
    }
}
