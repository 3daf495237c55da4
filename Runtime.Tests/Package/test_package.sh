#!/usr/bin/env bash
# The NuGet package as a user gets it: checks what ./build.sh pack wrote to artifacts/nuget
# (version, readme, license, description, tags, XML docs, symbols) and builds Consumer/ (a user's
# console program) against it from a local folder feed, then runs it on the bundled GRU.
# Offline: the only sources are artifacts/nuget and the local NuGet cache (as a read-only feed);
# packages restore into a temporary folder, so the user's cache never holds a test build.
#
#   Runtime.Tests/Package/test_package.sh      (after ./build.sh pack; ./build.sh test runs both)
#   Last line: "package-tests: N passed, F failed, 0 skipped"
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
FEED="$ROOT/artifacts/nuget"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

P=0; F=0
log() { printf '==> %s\n' "$*" >&2; }
tally() { if [ "$2" = 0 ]; then P=$((P + 1)); log "ok: $1"; else F=$((F + 1)); log "FAILED: $1"; fi; }
finish() { echo "package-tests: $P passed, $F failed, 0 skipped"; [ "$F" = 0 ]; exit; }

V=$(sed -nE 's|.*<VersionPrefix>([^<]+)</VersionPrefix>.*|\1|p' "$ROOT/Directory.Build.props" | head -n 1)
NUPKG="$FEED/RnnRuntime.$V.nupkg" SNUPKG="$FEED/RnnRuntime.$V.snupkg"
[ -n "$V" ]; tally "Directory.Build.props has a VersionPrefix ($V)" $?
[ -f "$NUPKG" ] && [ -f "$SNUPKG" ]; tally "artifacts/nuget holds RnnRuntime.$V.nupkg and .snupkg" $?
[ -f "$NUPKG" ] && [ -f "$SNUPKG" ] || finish

files=$(unzip -Z1 "$NUPKG") sfiles=$(unzip -Z1 "$SNUPKG")
nuspec=$(unzip -p "$NUPKG" RnnRuntime.nuspec)
has() { grep -qxF "$2" <<<"$1"; }
has "$files" lib/net10.0/RnnRuntime.dll && has "$files" lib/net10.0/RnnRuntime.xml; tally "the nupkg has the library and its XML documentation" $?
has "$files" README.md && grep -q '<readme>README.md</readme>' <<<"$nuspec"; tally "the nupkg has README.md, named as its readme" $?
has "$files" LICENSE && grep -q '<license type="expression">MIT</license>' <<<"$nuspec" \
  && unzip -p "$NUPKG" LICENSE | grep -q 'Copyright (c) 2026 the rnnrt authors'; tally "the nupkg has the MIT license expression and LICENSE" $?
grep -q "<version>$V</version>" <<<"$nuspec"; tally "the nuspec says version $V" $?
grep -q '<description>' <<<"$nuspec" && ! grep -q 'Package Description' <<<"$nuspec" && grep -q '<tags>.*gru' <<<"$nuspec"; tally "the nuspec has a description and tags" $?
! grep -q '<projectUrl>' <<<"$nuspec"; tally "the nuspec names no project URL (there is no public one)" $?
has "$sfiles" lib/net10.0/RnnRuntime.pdb; tally "the snupkg has RnnRuntime.pdb" $?

# A user's program, outside the repository (no Directory.Build.props, no global.json of ours).
work=$(mktemp -d /tmp/rnnrt-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$HERE/Consumer/Consumer.csproj" "$HERE/Consumer/Program.cs" "$work/"
cache=${NUGET_PACKAGES:-$HOME/.nuget/packages}
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="rnnrt" value="$FEED" />
    <add key="local-cache" value="$cache" />
  </packageSources>
</configuration>
XML
log "dotnet build of a console program that references RnnRuntime $V from $FEED"
( cd "$work" && NUGET_PACKAGES="$work/packages" dotnet build Consumer.csproj -c Release -nologo -v:quiet -clp:ErrorsOnly \
    -p:RnnRuntimeVersion="$V" -o "$work/out" ) >&2
tally "a console program restores RnnRuntime $V from the folder feed and builds" $?
[ -f "$work/out/Consumer.dll" ] || finish
grep -q "\"RnnRuntime/$V\"" "$work/out/Consumer.deps.json"; tally "it resolved RnnRuntime $V (Consumer.deps.json)" $?
out=$(cd "$ROOT" && dotnet "$work/out/Consumer.dll" Runtime.Bench/Models/gru_i64_h256.safetensors); st=$?
echo "$out"
[ $st = 0 ] && grep -q "RnnRuntime $V.0 " <<<"$out"; tally "it loads the bundled GRU, steps it and matches the reference" $?

# The README's C# block, exactly as printed, as another user's program.
mkdir -p "$work/readme"
cp "$HERE/Consumer/Consumer.csproj" "$work/nuget.config" "$work/readme/"
awk '/^```csharp$/{on=1; next} on && /^```$/{exit} on' "$ROOT/README.md" > "$work/readme/Program.cs"
if [ -s "$work/readme/Program.cs" ] && ( cd "$work/readme" && NUGET_PACKAGES="$work/packages" dotnet build Consumer.csproj -c Release -nologo \
    -v:quiet -clp:ErrorsOnly -p:RnnRuntimeVersion="$V" -o "$work/readme/out" ) >&2; then
  out=$(cd "$ROOT" && dotnet "$work/readme/out/Consumer.dll"); st=$?
  echo "$out"
  [ $st = 0 ] && grep -q "5 layers" <<<"$out"; tally "the README's C# block builds against the package and runs" $?
else
  tally "the README's C# block builds against the package and runs" 1
fi
finish
