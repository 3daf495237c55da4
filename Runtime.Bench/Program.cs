using BenchmarkDotNet.Running;
using RnnRuntime.Bench;

// "stream" is the main job of ./build.sh; anything else goes to BenchmarkDotNet.
if (args.Length > 0 && args[0] == "stream")
    return StreamJob.Run(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(StreamJob).Assembly).Run(args);
return 0;
