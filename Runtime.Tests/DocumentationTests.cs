using System.Text.RegularExpressions;
using RnnRuntime.Backends;

namespace RnnRuntime.Tests;

/// <summary>
/// The places that list the backends or introduce the library say what the code does: every backend
/// the registry has is named, the weight formats are not said to be refused, and the introductions
/// speak of networks (linear layers, activations, recurrent modules), not of one module.
/// </summary>
public class DocumentationTests
{
    private static string Read(string path) => File.ReadAllText(Path.Combine(VersionTests.Root, path));

    /// <summary>The first match of <paramref name="pattern"/> in a file: the passage that lists the backends.</summary>
    private static string Passage(string path, string pattern)
    {
        Match m = Regex.Match(Read(path), pattern, RegexOptions.Singleline);
        Assert.True(m.Success, $"{path} has no passage matching {pattern}");
        return m.Value;
    }

    public static TheoryData<string, string> BackendLists() => new()
    {
        { "Runtime/RnnOptions.cs", @"<summary>""auto"" \|[^\n]*" },
        { "Runtime.Native/include/rnnrt.h", @"\*  backend: ""auto"".*?\*  out:" },
        { "Runtime/PACKAGE.md", @"Backends \(`RnnOptions.Backend`\).*?\n\n" },
        { "Runtime/Runtime.csproj", "<Description>.*?</Description>" },
        { "README.md", @"## Backends\n.*?\n\n" },
        { "README.md", @"\| `Runtime/Backends/Cpu/` \|[^\n]*" },
        { "Runtime.Native/python/rnnrt/runtime.py", @"backend: ""auto"".*?""opencl""" },
    };

    [Theory]
    [MemberData(nameof(BackendLists))]
    public void EveryBackendIsNamed(string path, string pattern)
    {
        string passage = Passage(path, pattern);
        // The Cpu folder's line names the SIMD backends, the folder beside it the others.
        IEnumerable<string> names = pattern.Contains("Backends/Cpu") ? BackendRegistry.Known.Where(n => n is not "reference" and not "opencl") : BackendRegistry.Known;
        foreach (string name in names)
            Assert.True(Regex.IsMatch(passage, $@"\b{name}\b"), $"{path}: the backend list does not name {name}: {passage}");
    }

    [Fact]
    public void WeightFormatsAreNotSaidToBeRefused()
    {
        string doc = Passage("Runtime/RnnOptions.cs", @"/// <summary>\s*/// How the weights are stored.*?public RnnWeightFormat WeightFormat");
        Assert.DoesNotContain("only Float32 runs", doc);
        Assert.Contains("run all three", doc);
    }

    public static TheoryData<string, string> Introductions() => new()
    {
        { "Runtime/PACKAGE.md", @"\A.*?\n\n.*?\n\n" },
        { "Runtime/Runtime.csproj", "<Description>.*?</Description>" },
        { "Runtime.Native/include/rnnrt.h", @"\A/\*.*?\n \*\n.*?\n \*\n" },
    };

    [Theory]
    [MemberData(nameof(Introductions))]
    public void IntroductionsDescribeNetworks(string path, string pattern)
    {
        string passage = Passage(path, pattern);
        Assert.True(passage.Contains("linear", StringComparison.OrdinalIgnoreCase) && passage.Contains("activation", StringComparison.OrdinalIgnoreCase),
            $"{path}: the introduction does not describe networks (linear layers, activations, recurrent modules): {passage}");
    }
}
