#!/usr/bin/env pwsh
# One entry point for rnnrt on Windows (and anywhere PowerShell 7 runs). Mirrors build.sh:
#   ./build.ps1 [run|build|test|bench|publish|pack|gpu-check|fixtures|fuzz] [args]
# run (default): build, then stream the bundled model (or run PATH [--batch B] [--steps N]: yours) through every backend present
# pack: the NuGet package, artifacts/nuget/RnnRuntime.<version>.nupkg and .snupkg
# test: the xunit suite (and, where bash and a C compiler exist, the C tests via Runtime.Native/native.sh)
param(
    [Parameter(Position = 0)][string]$Command = 'run',
    [Parameter(ValueFromRemainingArguments = $true)][string[]]$Rest = @()
)
$ErrorActionPreference = 'Stop'
Set-Location $PSScriptRoot
$Config = if ($env:CONFIG) { $env:CONFIG } else { 'Release' }
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

function Fail([string]$message) { Write-Error "build.ps1: $message"; exit 1 }

function Need-Dotnet {
    if (-not (Get-Command dotnet -ErrorAction SilentlyContinue)) { Fail 'the .NET 10 SDK is required (dotnet not on PATH); see https://dot.net' }
}

function Invoke-Build {
    Need-Dotnet
    Write-Host "==> dotnet build ($Config)"
    dotnet build Runtime.sln -c $Config -nologo -clp:ErrorsOnly -v:quiet
    if ($LASTEXITCODE -ne 0) { Fail "dotnet build failed ($LASTEXITCODE)" }
}

function Test-OpenCL {
    # Report (not install) a missing OpenCL runtime: on Windows it comes with the GPU driver.
    $found = if ($IsWindows) { Test-Path "$env:WINDIR\System32\OpenCL.dll" } else { (& sh -c 'ls /etc/OpenCL/vendors/*.icd 2>/dev/null') -ne $null }
    if (-not $found) { Write-Host '==> no OpenCL runtime found: the OpenCL tests will be skipped (install a GPU driver, or pocl-opencl-icd on Debian)' }
}

function Invoke-Tests {
    Test-OpenCL
    if ($env:CI -eq 'true') { $env:RNNRT_REQUIRE_OPENCL = '1' }
    Invoke-Build
    $out = & dotnet "Runtime.Tests/bin/$Config/net10.0/Runtime.Tests.dll" -noColor @Rest 2>&1 | Tee-Object -Variable lines
    $status = $LASTEXITCODE
    $summary = $lines | Select-String -Pattern 'Total: (\d+), Errors: (\d+), Failed: (\d+), Skipped: (\d+), Not Run: (\d+)' | Select-Object -Last 1
    if (-not $summary) { Write-Host 'tests: 0 passed, 1 failed, 0 skipped'; exit 1 }
    $g = $summary.Matches[0].Groups
    $total = [int]$g[1].Value; $failed = [int]$g[2].Value + [int]$g[3].Value; $skipped = [int]$g[4].Value + [int]$g[5].Value
    $passed = $total - [int]$g[3].Value - $skipped
    if ($status -ne 0 -and $failed -eq 0) { $failed = 1 }
    if ((Test-Path Runtime.Native/native.sh) -and (Get-Command bash -ErrorAction SilentlyContinue) -and -not $IsWindows) {
        $c = & bash Runtime.Native/native.sh test 2>&1 | Tee-Object -Variable clines
        $cstatus = $LASTEXITCODE
        $cl = $clines | Select-String -Pattern '^c-tests: (\d+) passed, (\d+) failed(?:, (\d+) skipped)?' | Select-Object -Last 1
        if ($cl) {
            $passed += [int]$cl.Matches[0].Groups[1].Value
            $failed += [int]$cl.Matches[0].Groups[2].Value
            if ($cl.Matches[0].Groups[3].Success) { $skipped += [int]$cl.Matches[0].Groups[3].Value }
        }
        if ($cstatus -ne 0 -and (-not $cl -or [int]$cl.Matches[0].Groups[2].Value -eq 0)) { $failed += 1 }
    }
    Write-Host "tests: $passed passed, $failed failed, $skipped skipped"
    if ($failed -ne 0) { exit 1 }
}

function Invoke-Run {
    Invoke-Build
    Write-Host '==> main job: stream the bundled GRU through every backend present'
    dotnet "Runtime.Bench/bin/$Config/net10.0/Runtime.Bench.dll" stream @Rest
    if ($LASTEXITCODE -ne 0) { exit $LASTEXITCODE }
}

function Invoke-Pack {
    Need-Dotnet
    Write-Host '==> dotnet pack Runtime -> artifacts/nuget'
    dotnet pack Runtime/Runtime.csproj -c Release -nologo -clp:ErrorsOnly -v:quiet -o artifacts/nuget
    if ($LASTEXITCODE -ne 0) { Fail 'pack failed' }
}

function Invoke-Publish {
    Need-Dotnet
    if (-not $IsWindows -and (Test-Path Runtime.Native/native.sh)) {
        & bash Runtime.Native/native.sh publish @Rest; exit $LASTEXITCODE
    }
    # Windows: rnnrt.dll (x86-64-v3 kernels) and its header in artifacts/native.
    dotnet publish Runtime.Native/Runtime.Native.csproj -c Release -r win-x64 -p:IlcInstructionSet=x86-64-v3 -o artifacts/native
    if ($LASTEXITCODE -ne 0) { Fail 'publish failed' }
    Copy-Item -Recurse -Force Runtime.Native/include artifacts/native/
}

switch ($Command) {
    'run' { Invoke-Run }
    'build' { Invoke-Build }
    'test' { Invoke-Tests }
    'bench' {
        Need-Dotnet
        dotnet build Runtime.Bench -c Release -nologo -clp:ErrorsOnly -v:quiet
        dotnet Runtime.Bench/bin/Release/net10.0/Runtime.Bench.dll @Rest
        exit $LASTEXITCODE
    }
    'publish' { Invoke-Publish }
    'pack' { Invoke-Pack }
    'gpu-check' {
        if ($IsWindows) { Fail 'gpu-check is packaged for Linux GPU machines; run ./build.sh gpu-check there' }
        & bash ./build.sh gpu-check @Rest; exit $LASTEXITCODE
    }
    'fixtures' { & /usr/bin/python3 Runtime.Tests/Fixtures/make_fixtures.py @Rest; exit $LASTEXITCODE }
    'fuzz' {
        # afl++ and SharpFuzz's out-of-process fork server are Linux-only.
        if (-not $IsLinux) { Fail 'fuzz is Linux-only (afl++); run ./build.sh fuzz [seconds] on Linux' }
        & bash ./build.sh fuzz @Rest; exit $LASTEXITCODE
    }
    default { Fail "unknown command '$Command'; use run, build, test, bench, publish, pack, gpu-check, fixtures or fuzz" }
}
