"""Settings of bench/load.py: the portal's own, with a floor view (bench/load_urls.py)
that exists only under these settings, never among the portal's routes."""

import os

from segur_portal.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
# Each run keeps its pages under keys of its own: a wave copied again must not be served
# the pages of the previous copy.
CACHES["pages"]["KEY_PREFIX"] = os.environ.get("BENCH_PAGES_PREFIX", "segur-pages-bench")  # noqa: F405
