using System.Reflection;
using System.Text.RegularExpressions;

namespace RnnRuntime.Tests;

/// <summary>
/// One version everywhere: VersionPrefix in Directory.Build.props is the source; the assembly, the
/// C header's RNNRT_VERSION_* macros and the Python package's pyproject.toml must say the same.
/// (rnnrt_version() against the header is a C test; the NuGet package's version is checked by
/// Package/test_package.sh; rnnrt.pc and the CMake package by native.sh's install tests.)
/// </summary>
public partial class VersionTests
{
    internal static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Directory.Build.props")) && Directory.Exists(Path.Combine(dir.FullName, "Runtime.Native")))
                return dir.FullName;
        throw new InvalidOperationException($"no source tree (Directory.Build.props beside Runtime.Native/) above {AppContext.BaseDirectory}");
    }

    private static string PropsVersion()
    {
        Match m = PropsVersionRegex().Match(File.ReadAllText(Path.Combine(Root, "Directory.Build.props")));
        Assert.True(m.Success, "Directory.Build.props has no <VersionPrefix>MAJOR.MINOR.PATCH</VersionPrefix>");
        return m.Groups[1].Value;
    }

    [Fact]
    public void AssemblyVersionIsThePropsVersion()
    {
        string v = PropsVersion();
        Assembly library = typeof(RnnModel).Assembly;
        Version? assembly = library.GetName().Version;
        Assert.NotNull(assembly);
        Assert.True(v == $"{assembly.Major}.{assembly.Minor}.{assembly.Build}", $"RnnRuntime.dll is version {assembly}; Directory.Build.props says {v}");
        string? informational = library.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        Assert.NotNull(informational);
        Assert.True(v == informational.Split('+')[0], $"RnnRuntime.dll's informational version is {informational}; Directory.Build.props says {v}");
    }

    [Fact]
    public void HeaderVersionIsThePropsVersion()
    {
        string header = File.ReadAllText(Path.Combine(Root, "Runtime.Native", "include", "rnnrt.h"));
        string Macro(string part)
        {
            Match m = Regex.Match(header, $@"^#define RNNRT_VERSION_{part} +([0-9]+)\b", RegexOptions.Multiline);
            Assert.True(m.Success, $"rnnrt.h has no RNNRT_VERSION_{part}");
            return m.Groups[1].Value;
        }
        string v = PropsVersion(), h = $"{Macro("MAJOR")}.{Macro("MINOR")}.{Macro("PATCH")}";
        Assert.True(v == h, $"rnnrt.h's RNNRT_VERSION_* say {h}; Directory.Build.props says {v} (./build.sh set-version {v})");
    }

    [Fact]
    public void PythonPackageVersionIsThePropsVersion()
    {
        string pyproject = Path.Combine(Root, "Runtime.Native", "python", "pyproject.toml");
        if (!File.Exists(pyproject)) Assert.Skip("no Python package in this tree (Runtime.Native/python/pyproject.toml absent)");
        string text = File.ReadAllText(pyproject);
        // The version of the [project] table: the first `version = "..."` after [project], before the next table.
        Match project = ProjectTableRegex().Match(text);
        Assert.True(project.Success, "pyproject.toml has no [project] table");
        Match version = PyVersionRegex().Match(project.Groups[1].Value);
        if (!version.Success && DynamicVersionRegex().IsMatch(project.Groups[1].Value))
            Assert.Skip("pyproject.toml declares its version dynamic; the Python package's build must take it from Directory.Build.props");
        Assert.True(version.Success, "pyproject.toml's [project] table has no version = \"X.Y.Z\"");
        string v = PropsVersion();
        Assert.True(v == version.Groups[1].Value, $"Runtime.Native/python/pyproject.toml says version {version.Groups[1].Value}; Directory.Build.props says {v} (./build.sh set-version {v})");
    }

    [GeneratedRegex(@"<VersionPrefix>([0-9]+\.[0-9]+\.[0-9]+)</VersionPrefix>")]
    private static partial Regex PropsVersionRegex();

    [GeneratedRegex(@"^\[project\][ \t]*\r?\n(.*?)(?=^\[|\z)", RegexOptions.Multiline | RegexOptions.Singleline)]
    private static partial Regex ProjectTableRegex();

    [GeneratedRegex(@"^version\s*=\s*[""']([^""']+)[""']", RegexOptions.Multiline)]
    private static partial Regex PyVersionRegex();

    [GeneratedRegex(@"^dynamic\s*=\s*\[[^\]]*[""']version[""']", RegexOptions.Multiline)]
    private static partial Regex DynamicVersionRegex();
}
