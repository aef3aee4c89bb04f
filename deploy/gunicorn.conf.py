"""Gunicorn settings for the MLA node, used by deploy/systemd/mla-web.service.

Run from /opt/mla (the unit's WorkingDirectory): gunicorn puts its working directory
first on sys.path, so the application is imported from the checkout there.

Two values can be changed from /etc/mla/mla.env without editing this file:
WEB_CONCURRENCY (number of workers), GUNICORN_TIMEOUT (seconds) and GUNICORN_BIND
(address:port, default 127.0.0.1:8000).
"""

import os

wsgi_app = "mla.wsgi:application"

# Only the local nginx talks to gunicorn; never expose this port.
# GUNICORN_BIND: another address or port (nginx proxies to it: keep them in step).
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# Sync workers: nginx buffers whole requests and responses (its defaults), so a slow
# client never holds a worker. 3 suits a 2-core box that also runs the Celery workers
# (2 processes for the default queue, 4 for deliveries), beat and perhaps PostgreSQL and
# Redis; the usual 2 x cores + 1 = 5 leaves too little memory for the rest. With 3, two
# such nodes on one 2-core machine exchanged about 20 messages a second
# (tests/benchmarks/bench_exchange.py), the inbox's gpg runs using both cores.
worker_class = "sync"
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))

# The directory import (up to 50 MB) runs inside the request, so allow it time.
# Keep nginx's proxy_read_timeout (deploy/nginx/mla.conf) a little above this value.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
# On stop or reload, a worker gets this long to finish the request it is serving.
graceful_timeout = 30

# Restart each worker after about 1000 requests, so that slow growth in memory (PDF
# rendering, gpg subprocesses) cannot accumulate; the jitter keeps them from all
# restarting at once.
max_requests = 1000
max_requests_jitter = 100

# Not preloading means SIGHUP (systemctl reload mla-web) starts workers on the new code.
preload_app = False

# Logs go to the journal through stdout/stderr.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# The peer address is always nginx; log the client address that nginx forwards instead,
# and the time each request took (milliseconds).
access_log_format = (
    '%({x-forwarded-for}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'
)

# X-Forwarded-* headers are trusted from the local nginx only. (Django itself decides
# HTTPS from X-Forwarded-Proto through SECURE_PROXY_SSL_HEADER; nginx always overwrites
# that header, so a client cannot forge it.)
forwarded_allow_ips = "127.0.0.1,::1"

# gunicorn >= 25.1 opens a control socket for gunicornc. Under systemd, put it in the
# unit's RuntimeDirectory (/run/mla-web); otherwise it would land in the service user's
# home, and when run by hand it is not needed.
_runtime_directory = os.environ.get("RUNTIME_DIRECTORY")
if _runtime_directory:
    control_socket = os.path.join(_runtime_directory, "gunicorn.ctl")
else:
    control_socket_disable = True
