"""Build hook of the rnnrt Python package (everything else is in pyproject.toml): the package ships
the repository's top-level LICENSE, copied beside pyproject.toml when building from the source tree."""
import os
import shutil

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.join(HERE, "..", "..", "LICENSE")
if os.path.isfile(TOP):
    shutil.copyfile(TOP, os.path.join(HERE, "LICENSE"))

setup()
