"""The package installs offline into a fresh venv that sees Debian's numpy and setuptools, exactly as
the README says (pip install --no-build-isolation), and runs from there."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import FIXTURES, PACKAGE_ROOT, REPO

EXPECTED = {"rnnrt/__init__.py", "rnnrt/_native.py", "rnnrt/export.py", "rnnrt/runtime.py",
            "rnnrt-{v}.dist-info/LICENSE", "rnnrt-{v}.dist-info/METADATA", "rnnrt-{v}.dist-info/WHEEL",
            "rnnrt-{v}.dist-info/RECORD", "rnnrt-{v}.dist-info/INSTALLER", "rnnrt-{v}.dist-info/REQUESTED",
            "rnnrt-{v}.dist-info/direct_url.json", "rnnrt-{v}.dist-info/top_level.txt"}


def project_version():
    sys.path.insert(0, PACKAGE_ROOT)
    import rnnrt
    return rnnrt.__version__


def test_pip_install_into_a_venv(tmp_path):
    python = "/usr/bin/python3"
    for module in ("venv", "ensurepip", "setuptools", "numpy"):
        if subprocess.run([python, "-c", f"import {module}"], capture_output=True).returncode != 0:
            pytest.skip(f"{python} lacks {module} (apt-get install python3-venv python3-setuptools python3-numpy)")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("RNNRT_LIBRARY", "PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1")
    # The command of the README, from the repository root.
    cmd = (f"{python} -m venv --system-site-packages {venv} && "
           f"{venv}/bin/pip install --no-build-isolation --no-deps Runtime.Native/python")
    r = subprocess.run(cmd, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    site = subprocess.run([f"{venv}/bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, env=env).stdout.strip()
    v = project_version()
    record = open(os.path.join(site, f"rnnrt-{v}.dist-info", "RECORD")).read().split("\n")
    installed = {line.split(",")[0] for line in record if line and "__pycache__" not in line}
    assert installed == {e.format(v=v) for e in EXPECTED}, installed
    with open(os.path.join(site, f"rnnrt-{v}.dist-info", "LICENSE"), "rb") as a, open(os.path.join(REPO, "LICENSE"), "rb") as b:
        assert a.read() == b.read()
    meta = open(os.path.join(site, f"rnnrt-{v}.dist-info", "METADATA")).read()
    assert f"Version: {v}\n" in meta and "License: MIT\n" in meta and "Requires-Dist: numpy\n" in meta

    # Imported from the venv (not the source tree), the library named by RNNRT_LIBRARY.
    lib = os.path.join(REPO, "artifacts", "native", "librnnrt.so")
    if not os.path.exists(lib):
        pytest.skip("artifacts/native/librnnrt.so not built (Runtime.Native/native.sh publish)")
    code = ("import numpy as np, rnnrt\n"
            "m = rnnrt.Model(%r)\n"
            "s = m.session(3)\n"
            "y = s.step(np.zeros((3, m.info.input_size), np.float32))\n"
            "print(rnnrt.__file__, rnnrt.__version__, m.info.layer_count, y.shape, rnnrt.library_path(), sep='|')\n"
            % os.path.join(FIXTURES, "net_denoiser.safetensors"))
    run_dir = tmp_path / "elsewhere"
    run_dir.mkdir()
    r = subprocess.run([f"{venv}/bin/python", "-c", code], cwd=run_dir, env={**env, "RNNRT_LIBRARY": lib},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().split("|") == [os.path.join(site, "rnnrt", "__init__.py"), v, "6", "(3, 22)", lib], r.stdout
    shutil.rmtree(venv)
