"""Shared test settings.

Under CI (CI=true) hypothesis draws the same examples every run, so a red build
always reproduces; locally it explores new examples each time.
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
