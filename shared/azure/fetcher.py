"""The HTTPS artifact fetcher: downloads customizer scripts and files from public URLs."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request

from shared.errors import AzureNotFound, PermanentAzureError, TransientAzureError

MAX_ARTIFACT_BYTES = 256 * 1024 * 1024


class HttpsFetcher:
    """GETs an ``https://`` URL; 404 is not-found, 408/429/5xx and network failures are transient."""

    def __init__(self, *, timeout: float = 60.0, ca_file: str | None = None) -> None:
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file or None)

    def fetch(self, *, url: str) -> bytes:
        """Download ``url``; only https is accepted (no credentials are ever sent)."""
        if not url.lower().startswith("https://"):
            raise PermanentAzureError(f"refusing to fetch '{url}': only https is allowed", code="InsecureUri")
        request = urllib.request.Request(url, headers={"User-Agent": "kiln-image-builder"})
        try:
            with urllib.request.urlopen(request, timeout=self._timeout, context=self._context) as answer:
                data: bytes = answer.read(MAX_ARTIFACT_BYTES + 1)
        except urllib.error.HTTPError as e:
            message = f"GET {url} answered {e.code} {e.reason}."
            if e.code == 404:
                raise AzureNotFound(message, code="ArtifactNotFound", target=url) from None
            if e.code in (408, 429) or e.code >= 500:
                raise TransientAzureError(message, code="ArtifactUnavailable", status=e.code) from None
            raise PermanentAzureError(message, code="ArtifactForbidden", status=e.code) from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, ssl.SSLCertVerificationError):
                raise PermanentAzureError(f"GET {url}: {e.reason}", code="ArtifactUntrusted") from None
            raise TransientAzureError(f"GET {url} failed: {e.reason}", code="ArtifactUnreachable") from None
        except (TimeoutError, ConnectionError) as e:
            raise TransientAzureError(f"GET {url} failed: {e}", code="ArtifactUnreachable") from None
        if len(data) > MAX_ARTIFACT_BYTES:
            raise PermanentAzureError(
                f"{url} is larger than {MAX_ARTIFACT_BYTES} bytes", code="ArtifactTooLarge"
            )
        return data
