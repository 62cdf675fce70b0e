"""The HTTP transport of every SDK client kiln builds: azure-core's ``RequestsTransport`` over a session that
remembers what it read from the environment.

requests looks at the environment on every request (``Session.merge_environment_settings``: the proxies,
which scans every environment variable several times, and ``REQUESTS_CA_BUNDLE``): about 0.2 ms of CPU per
request with the eighty-odd variables a Functions worker has, more than the rest of the request's own work on
a kept-alive connection. ``EnvCachedSession`` keeps that answer per origin for as long as the variables it
depends on keep their values, so behaviour is the same (proxies, ``no_proxy``, CA bundle from the environment,
a change to them seen by the next request) without the scan.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from azure.core.pipeline.transport import RequestsTransport

# Everything ``merge_environment_settings`` reads for an http(s) URL on Linux: ``getproxies_environment``
# keeps ``<scheme>_proxy`` (lower case wins; upper case ignored under CGI's REQUEST_METHOD), ``select_proxy``
# uses the URL's scheme and ``all``, ``should_bypass_proxies`` reads ``no_proxy``; then the CA bundle.
_PROXY_NAMES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
ENV_NAMES = (
    *(name for base in _PROXY_NAMES for name in (base, base.upper())),
    "REQUEST_METHOD",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)
CACHED_ORIGINS = 256

# azure-storage-blob's own transport settings (``StorageAccountHostsMixin._create_pipeline``), which it
# applies only to a transport it builds itself; tests/azure/test_transport.py checks them against the SDK's.
STORAGE_TRANSPORT: dict[str, Any] = {
    "connection_timeout": 20,
    "read_timeout": 60,
    "connection_data_block_size": 256 * 1024,
}


class EnvCachedSession(requests.Session):
    """A ``requests.Session`` whose environment lookups are made once per origin and settings, and again
    whenever one of the environment variables they read changes."""

    def __init__(self) -> None:
        super().__init__()
        self._env_cache: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._env_lock = threading.Lock()

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> dict[str, Any]:
        if not self.trust_env or proxies or self.proxies:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urlsplit(str(url))
        try:
            key = (parts.scheme, parts.netloc, stream, verify, cert, tuple(map(os.environ.get, ENV_NAMES)))
            hash(key)
        except TypeError:  # an unhashable setting (a cert tuple of lists, say): no memo
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        with self._env_lock:
            found = self._env_cache.get(key)
        if found is None:
            found = super().merge_environment_settings(url, proxies, stream, verify, cert)
            with self._env_lock:
                if len(self._env_cache) >= CACHED_ORIGINS:
                    self._env_cache.clear()
                self._env_cache[key] = found
        return {**found, "proxies": dict(found["proxies"])}


def transport(**kwargs: Any) -> RequestsTransport:
    """azure-core's requests transport (``kwargs`` as ``RequestsTransport`` takes them) over an
    ``EnvCachedSession`` it owns."""
    return RequestsTransport(session=EnvCachedSession(), session_owner=True, **kwargs)


def storage_transport() -> RequestsTransport:
    """The transport of a blob service client, with the storage SDK's own timeouts and block size."""
    return transport(**STORAGE_TRANSPORT)
