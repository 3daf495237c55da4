using BenchmarkDotNet.Running;
using RnnRuntime.Bench;
using RnnRuntime.Bench.Suite;

// "stream" is the main job of ./build.sh; "check" verifies every engine against the reference;
// "profile" loops one scenario for an external profiler;
// anything else goes to BenchmarkDotNet (no arguments: the whole suite), then the report.
if (args.Length > 0 && args[0] == "stream")
    return StreamJob.Run(args[1..]);
if (args.Length > 0 && args[0] == "check")
    return CheckJob.Run(args[1..]);
if (args.Length > 0 && args[0] == "profile")
    return ProfileJob.Run(args[1..]);

string[] bdnArgs = args.Length == 0 ? ["--filter", "*"] : args;
var summaries = BenchmarkSwitcher.FromTypes([typeof(MachineBench), typeof(StepBench), typeof(RunBench), typeof(ProjectionBench), typeof(OverheadBench)]).Run(bdnArgs).ToList();
var rows = Report.Collect(summaries);
if (summaries.Any(s => s.BenchmarksCases.Length > 0))
{
    MachineProbe.Refresh();
    string name = Environment.GetEnvironmentVariable("RNNRT_BENCH_REPORT") is { Length: > 0 } n ? n : Engines.PeersBuilt ? "peers" : "backends";
    string md = Report.Write(rows, name, Report.MachineLine(), summaries, Report.ProjectionMarkdown(summaries) + Report.OverheadMarkdown(summaries));
    // Keep BenchmarkDotNet's own full tables (every column, error, allocation) beside the report.
    string raw = Path.Combine(Path.GetDirectoryName(md)!, name + "-raw");
    Directory.CreateDirectory(raw);
    foreach (var s in summaries.Where(s => s.BenchmarksCases.Length > 0))
    {
        Type type = s.BenchmarksCases[0].Descriptor.Type;
        string file = Path.Combine(s.ResultsDirectoryPath, type.FullName + "-report-github.md");
        if (File.Exists(file)) File.Copy(file, Path.Combine(raw, type.Name + ".md"), overwrite: true);
    }
    Console.WriteLine($"report: {md}, its picture and {raw}");
}
return summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)) ? 1 : 0;
