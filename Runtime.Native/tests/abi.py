"""The C ABI as include/rnnrt.h declares it, measured by the C compiler, as one JSON document.

rnnrt.h is the one source of truth; the three other copies of the ABI are compared with what this
prints: Exports.cs and NativeStatus.cs by Runtime.Tests/NativeAbiTests.cs, the ctypes layer
(python/rnnrt/_native.py, runtime.py) by python/tests/test_abi.py, and the loader's table takes the
header's own types (__typeof__) so the compiler checks it.

The header is read only for names (functions and their parameter types, struct fields, enumerators,
#define values); every size, offset and value comes from compiling a program that prints sizeof,
offsetof and the constants, so nothing here computes a layout by hand.

    python3 abi.py [HEADER] [--cc CC]     prints {"functions", "structs", "status", "constants"}

A parameter or return type is written as one of: "void", "i32" (int32_t, rnnrt_status), "u32",
"size" (size_t), "struct NAME*" (a pointer to one of the header's structs), "ptr" (any other pointer).
"""
import json
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
HEADER = os.path.join(HERE, "..", "include", "rnnrt.h")


def _without_comments(text):
    return re.sub(r"/\*.*?\*/", " ", text, flags=re.S)


def type_class(c_type):
    """A C type as one of the classes above."""
    t = " ".join(c_type.replace("*", " * ").replace("const", " ").split())
    if t.endswith("*"):
        m = re.fullmatch(r"struct (rnnrt_\w+) \*", t)
        return f"struct {m.group(1)}*" if m else "ptr"
    return {"void": "void", "int32_t": "i32", "rnnrt_status": "i32", "uint32_t": "u32", "size_t": "size"}.get(t, t)


def parse(header):
    """Names only: {functions: {name: {ret, params}}, structs: {name: [field, ...]}, status: [name], constants: [name]}."""
    text = _without_comments(open(header).read())
    functions = {}
    for ret, name, params in re.findall(r"^RNNRT_API\s+(.+?)\s*\b(rnnrt_\w+)\s*\((.*?)\)\s*;", text, flags=re.M | re.S):
        args = [] if params.strip() in ("", "void") else [re.sub(r"\w+\s*$", "", p).strip() for p in params.split(",")]
        functions[name] = {"ret": type_class(ret), "params": [type_class(a) for a in args]}
    structs = {}
    for name, body in re.findall(r"\bstruct\s+(rnnrt_\w+)\s*\{(.*?)\}\s*;", text, flags=re.S):
        structs[name] = [m.group(1) for m in re.finditer(r"(\w+)\s*(?:\[\s*\w+\s*\])?\s*;", body)]
    enum = re.search(r"typedef\s+enum\s+rnnrt_status\s*\{(.*?)\}", text, flags=re.S).group(1)
    status = re.findall(r"\b(RNNRT_\w+)\s*=", enum)
    constants = [n for n in re.findall(r"^#define\s+(RNNRT_[A-Z0-9_]+)\s+\(?-?\d+\)?\s*$", text, flags=re.M)
                 if not n.startswith("RNNRT_VERSION_")]
    return {"functions": functions, "structs": structs, "status": status, "constants": constants}


def measure(header=HEADER, cc=None):
    """parse(header) with every struct's size, each field's offset and size, and every value, from the compiler."""
    names = parse(header)
    lines = ['#include <stddef.h>', '#include <stdio.h>', '#include "rnnrt.h"', "int main(void) {"]
    for s, fields in names["structs"].items():
        lines.append(f'    printf("struct {s} %zu\\n", sizeof(struct {s}));')
        for f in fields:
            lines.append(f'    printf("field {s} {f} %zu %zu\\n", offsetof(struct {s}, {f}), sizeof(((struct {s}*)0)->{f}));')
    for n in names["status"] + names["constants"]:
        lines.append(f'    printf("value {n} %ld\\n", (long)({n}));')
    lines += ["    return 0;", "}"]
    cc = cc or os.environ.get("CC", "cc")
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "abi.c"), os.path.join(tmp, "abi")
        with open(src, "w") as f:
            f.write("\n".join(lines) + "\n")
        subprocess.run([cc, "-std=c99", "-Wall", "-Werror", "-I", os.path.dirname(os.path.abspath(header)), src, "-o", exe],
                       check=True, capture_output=True, text=True)
        out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    structs = {s: {"size": 0, "fields": []} for s in names["structs"]}
    values = {}
    for line in out.splitlines():
        kind, *rest = line.split()
        if kind == "struct":
            structs[rest[0]]["size"] = int(rest[1])
        elif kind == "field":
            structs[rest[0]]["fields"].append({"name": rest[1], "offset": int(rest[2]), "size": int(rest[3])})
        else:
            values[rest[0]] = int(rest[1])
    return {"functions": names["functions"], "structs": structs,
            "status": {n: values[n] for n in names["status"]}, "constants": {n: values[n] for n in names["constants"]}}


if __name__ == "__main__":
    args = sys.argv[1:]
    cc = None
    if "--cc" in args:
        i = args.index("--cc")
        cc = args[i + 1]
        del args[i:i + 2]
    print(json.dumps(measure(args[0] if args else HEADER, cc), indent=1, sort_keys=True))
