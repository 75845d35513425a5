"""Gunicorn settings for Trust Center: the image's default command runs `gunicorn -c gunicorn.conf.py`.

Nothing gunicorn writes may identify a client. The access log names no client address, user
agent, referrer, user or query string (a query string can carry data); the error log's one
message that names a client address is rewritten without it (PrivacyLogger below). Django
removes the same data before any view sees a request (trustcenter/middleware.py).
"""

import os

from gunicorn.glogging import Logger

# The client-facing TLS proxy terminates connections; gunicorn only ever talks to it.
bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")


def _worker_count() -> int:
    raw = os.environ.get("WEB_CONCURRENCY", "").strip()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"WEB_CONCURRENCY must be a whole number of at least 1, not {raw!r}")
        return int(raw)
    # The usual 2 x cores + 1, on the cores this process may use (a container's cpuset), capped
    # so that a big host does not start more workers than the database has connections for.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(2 * cores + 1, 12)


workers = _worker_count()
timeout = 30
graceful_timeout = 30
# Behind a proxy that keeps connections open to us.
keepalive = 5
# Recycle workers now and then, staggered, so that a slow leak never takes the site down.
max_requests = 2000
max_requests_jitter = 200
# The heartbeat file on a RAM disk: a disk-backed /tmp can stall workers (gunicorn's FAQ).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# Only these peers may tell gunicorn the request came over HTTPS (X-Forwarded-Proto). Django
# decides that itself from SECURE_PROXY_SSL_HEADER; this keeps wsgi.url_scheme honest too.
# Set FORWARDED_ALLOW_IPS to the proxy's address or network when it is not on this host.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# No PROXY protocol: it would hand gunicorn the client's own address, which we never want.
proxy_protocol = "off"
# No runtime control socket in $HOME: nothing uses it, and parallel servers would share it.
control_socket_disable = True

# Logs go to stdout and stderr, where the container runtime collects them.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Time, method, path WITHOUT the query string, status, bytes, duration. Never %(h)s (address),
# %(a)s (user agent), %(f)s (referrer), %(u)s (user), %(r)s or %(q)s (query string), and no
# %({header}i)s or %({variable}e)s.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class PrivacyLogger(Logger):
    """gunicorn's logger, without the client address it puts in "Invalid request" warnings and
    without the query string in "Error handling request" reports."""

    INVALID_REQUEST_PREFIX = "Invalid request from ip="

    def warning(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith(self.INVALID_REQUEST_PREFIX):
            _address, _separator, error = msg.partition(": ")
            msg = f"Invalid request: {error}"
        super().warning(msg, *args, **kwargs)

    def exception(self, msg, *args, **kwargs):
        if isinstance(msg, str) and msg.startswith("Error handling request"):
            args = tuple(arg.split("?", 1)[0] if isinstance(arg, str) else arg for arg in args)
        super().exception(msg, *args, **kwargs)


logger_class = PrivacyLogger
