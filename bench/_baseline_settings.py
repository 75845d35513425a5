"""The real settings, with URLs that add the benchmark's baseline view (see bench/_baseline_app.py).

Everything else (middleware, database, cache, security headers) is exactly trustcenter.settings,
so the baseline and the intake form are served by the same process with the same stack.
"""

from trustcenter.settings import *  # noqa: F403

ROOT_URLCONF = "bench._baseline_app"
