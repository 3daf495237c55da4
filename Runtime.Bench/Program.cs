using BenchmarkDotNet.Running;
using RnnRuntime.Bench;
using RnnRuntime.Bench.Suite;

// "stream" is the main job of ./build.sh; "check" verifies every engine against the reference;
// "profile" loops one scenario for an external profiler; "pairs" measures only the networks' 1.15x
// target (each network interleaved with its recurrent part, a few seconds); "soak" streams 10^8 steps and
// reports RSS, heap and steps/s over time;
// anything else goes to BenchmarkDotNet (no arguments: the whole suite), then the report.
if (args.Length > 0 && args[0] == "stream")
    return StreamJob.Run(args[1..]);
if (args.Length > 0 && args[0] == "check")
    return CheckJob.Run(args[1..]);
if (args.Length > 0 && args[0] == "tileprobe")
    return RnnRuntime.Bench.TileProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "latencyprobe")
    return LatencyProbe.Run(args[1..]);
if (args.Length > 0 && args[0] == "profile")
    return ProfileJob.Run(args[1..]);
if (args.Length > 0 && args[0] == "soak")
    return SoakJob.Run(args[1..]);
if (args.Length > 0 && args[0] == "export-per-sample")
    return PerSampleExport.Run(args[1..]);
if (args.Length > 0 && args[0] == "pairs")
    return NetworkReport.PrintPairs();

string[] bdnArgs = args.Length == 0 ? ["--filter", "*"] : args;
var summaries = BenchmarkSwitcher.FromTypes([typeof(MachineBench), typeof(StepBench), typeof(RunBench), typeof(ProjectionBench), typeof(OverheadBench), typeof(Int8MethodBench),
    typeof(NetworkStepBench), typeof(NetworkRunBench), typeof(PerSampleBench)]).Run(bdnArgs).ToList();
bool Ran(BenchmarkDotNet.Reports.Summary s) => s.BenchmarksCases.Length > 0;
bool IsNetworks(BenchmarkDotNet.Reports.Summary s) => NetworkScenarioBase.IsNetworkScenario(s.BenchmarksCases[0].Descriptor.Type);
bool IsPerSample(BenchmarkDotNet.Reports.Summary s) => PerSampleReport.IsPerSample(s.BenchmarksCases[0].Descriptor.Type);
var suite = summaries.Where(s => Ran(s) && !IsNetworks(s) && !IsPerSample(s)).ToList();
var networks = summaries.Where(s => Ran(s) && IsNetworks(s)).ToList();
var perSample = summaries.Where(s => Ran(s) && IsPerSample(s)).ToList();
if (suite.Count > 0 || networks.Count > 0 || perSample.Count > 0)
{
    MachineProbe.Refresh();
    string name = Environment.GetEnvironmentVariable("RNNRT_BENCH_REPORT") is { Length: > 0 } n ? n : Engines.PeersBuilt ? "peers" : "backends";
    // The module suite's report (only when its scenarios ran: a networks-only run leaves it alone),
    // then the networks' report beside it, each with BenchmarkDotNet's own full tables (every column,
    // error, allocation) in its -raw folder.
    if (suite.Count > 0)
    {
        string md = Report.Write(Report.Collect(suite), name, Report.MachineLine(), suite, Report.ProjectionMarkdown(suite) + Report.OverheadMarkdown(suite) + Int8MethodBench.Markdown(suite));
        Console.WriteLine($"report: {md}, its picture and {CopyRaw(suite, Path.Combine(Path.GetDirectoryName(md)!, name + "-raw"))}");
    }
    if (networks.Count > 0)
    {
        string md = NetworkReport.Write(NetworkReport.Collect(networks), name + "-networks", Report.MachineLine());
        Console.WriteLine($"report: {md} and {CopyRaw(networks, Path.Combine(Path.GetDirectoryName(md)!, name + "-networks-raw"))}");
    }
    // The per-sample networks (rnnrt, ONNX Runtime, RTNeural): table and picture.
    if (perSample.Count > 0)
    {
        string md = PerSampleReport.Write(PerSampleReport.Collect(perSample), name + "-per-sample", Report.MachineLine());
        Console.WriteLine($"report: {md}, {Path.ChangeExtension(md, ".svg")} and {CopyRaw(perSample, Path.Combine(Path.GetDirectoryName(md)!, name + "-per-sample-raw"))}");
    }
}
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;

static string CopyRaw(IEnumerable<BenchmarkDotNet.Reports.Summary> summaries, string raw)
{
    Directory.CreateDirectory(raw);
    foreach (var s in summaries)
    {
        Type type = s.BenchmarksCases[0].Descriptor.Type;
        string file = Path.Combine(s.ResultsDirectoryPath, type.FullName + "-report-github.md");
        if (File.Exists(file)) File.Copy(file, Path.Combine(raw, type.Name + ".md"), overwrite: true);
    }
    return raw;
}
