"""Build hook of the rnnrt Python package (everything else is in pyproject.toml): the package ships
the repository's top-level LICENSE, copied beside pyproject.toml when building from the source tree
(an sdist carries the copy). build/ is removed first, so that a wheel never ships a stale file."""
import os
import shutil

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..", "LICENSE")
if os.path.isfile(TOP):
    shutil.copyfile(TOP, os.path.join(HERE, "LICENSE"))
shutil.rmtree(os.path.join(HERE, "build"), ignore_errors=True)

setup()
