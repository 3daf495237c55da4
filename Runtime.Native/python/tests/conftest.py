"""The tests import the package from this source tree (Runtime.Native/python), not an installed one."""
import os
import sys

PACKAGE_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
REPO = os.path.normpath(os.path.join(PACKAGE_ROOT, "..", ".."))
FIXTURES = os.path.join(REPO, "Runtime.Tests", "Fixtures")
if sys.path[:1] != [PACKAGE_ROOT]:
    sys.path.insert(0, PACKAGE_ROOT)
