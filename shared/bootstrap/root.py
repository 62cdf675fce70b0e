"""The composition root proper: ``Kiln`` builds every part on first use, ``root()`` is the process's one."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from shared import ports
from shared.bootstrap.azure_ports import AzurePorts
from shared.bootstrap.build_ports import BuildPorts
from shared.bootstrap.endpoints import cycle_policy, storage_account_url, timing_policy
from shared.bootstrap.telemetry import run_context, run_tracer
from shared.models.trace import RunSpan
from shared.service import ApiService
from shared.service.cycles import InputProbe, PatchCycles
from shared.service.deletion import TemplateDeletion
from shared.service.janitor import Janitor
from shared.service.operations import Operations
from shared.service.run_control import RunService
from shared.service.run_log import RunLog
from shared.service.run_outputs import RunOutputService
from shared.service.run_records import RunRecords
from shared.service.source_triggers import SourceTriggers
from shared.service.staging_cleanup import StagingCleanup
from shared.service.templates import TemplateService
from shared.service.triggers import TriggerService
from shared.settings import Settings, get_settings
from shared.store import JsonStore
from shared.store.port import DocumentBlobs


@dataclass(frozen=True)
class Overrides:
    """Parts put in place of the real ones (tests, benchmarks); a part left None is built from settings."""

    azure: ports.AzurePortSet | None = None
    # The Azure ports acting as a template's identity (by its resource id); None with ``azure`` given: that
    # same set for every identity (the fakes model no RBAC).
    acting_as: Callable[[str], ports.AzurePortSet] | None = None
    documents: DocumentBlobs | None = None
    fetcher: ports.ArtifactFetcher | None = None
    tracer: ports.RunTracer | None = None


class Kiln:
    """kiln, composed: every part built on first use from ``settings`` unless ``overrides`` gives it."""

    def __init__(self, settings: Settings, overrides: Overrides | None = None) -> None:
        self.settings = settings
        self.overrides = overrides or Overrides()
        self._as_identity: dict[str, ports.AzurePortSet] = {}
        self._as_identity_lock = threading.Lock()

    @cached_property
    def azure(self) -> ports.AzurePortSet:
        """The Azure ports acting as kiln's own identity (the Function app's)."""
        return self.overrides.azure or AzurePorts(self.settings)

    def acting_as(self, identity_id: str) -> ports.AzurePortSet:
        """The Azure ports acting as the user-assigned identity ``identity_id`` (a template's), built on
        first use and kept per identity (resource ids compare case-insensitively, as ARM's do). The Function
        app must hold the identity (``KILN_TEMPLATE_IDENTITY_IDS``); in sim mode the token names the
        identity's principal, looked up with kiln's own ports."""
        key = identity_id.lower()
        with self._as_identity_lock:
            found = self._as_identity.get(key)
            if found is None:
                found = self._as_identity[key] = self._identity_ports(identity_id)
        return found

    def cannot_act_as(self, identity_id: str) -> str | None:
        """Why no token can be had as ``identity_id`` (in Azure: the Function app does not hold it), or None;
        overridden ports (the fakes) always can."""
        ports_as = self.acting_as(identity_id)
        if not isinstance(ports_as, AzurePorts):
            return None
        from shared.azure.errors import azure_errors
        from shared.errors import AzureError, AzureNotFound, TransientAzureError

        try:
            with azure_errors(identity_id):
                ports_as.credential.get_token(*ports_as.target.credential_scopes)
        except TransientAzureError:
            raise
        except AzureNotFound:
            return None  # preflight names a missing identity itself
        except AzureError as e:
            return e.message
        return None

    def _identity_ports(self, identity_id: str) -> ports.AzurePortSet:
        if self.overrides.acting_as is not None:
            return self.overrides.acting_as(identity_id)
        if self.overrides.azure is not None:
            return self.overrides.azure
        from shared.azure.clients import credential_as

        def principal() -> str:
            return self.azure.access.principal_of(identity_id=identity_id)

        return AzurePorts(self.settings, credential=credential_as(self.settings, identity_id, principal))

    @cached_property
    def documents(self) -> DocumentBlobs:
        """The raw document port under the store: a container of Blob Storage."""
        if self.overrides.documents is not None:
            return self.overrides.documents
        from shared.azure.docstore import BlobDocuments

        return BlobDocuments(
            connection_string=self.settings.storage_connection_string,
            container=self.settings.store_container,
            credential=self.entra_credential,
        )

    def entra_credential(self) -> Any:
        """kiln's Entra credential for what is not an Azure port: a keyless ``KILN_STORAGE_CONNECTION_STRING``
        (``BlobEndpoint=…`` only) and Application Insights. The Azure ports' one (kiln's user-assigned
        identity when its client id is set, else the default chain), or one made from the same settings
        when the Azure ports are overridden."""
        azure = self.azure
        if isinstance(azure, AzurePorts):
            return azure.credential
        from shared.azure.clients import credential

        return credential(self.settings)

    @cached_property
    def tracer(self) -> ports.RunTracer:
        """Where the runs' spans go (``shared/bootstrap/telemetry.py``): built when the first span ends."""
        if self.overrides.tracer is not None:
            return self.overrides.tracer
        return run_tracer(self.settings, self.entra_credential)

    def run_context(self, run_id: str | None) -> AbstractContextManager[None]:
        """A block working for a run: its log lines carry the run id (and, with OpenTelemetry tracing on,
        belong to the run's trace)."""
        return run_context(run_id, spans=bool(getattr(self.tracer, "opentelemetry", False)))

    @cached_property
    def store(self) -> JsonStore:
        return JsonStore(self.documents)

    @cached_property
    def fetcher(self) -> ports.ArtifactFetcher:
        if self.overrides.fetcher is not None:
            return self.overrides.fetcher
        from shared.azure.fetcher import HttpsFetcher

        settings = self.settings
        return HttpsFetcher(
            timeout=settings.http_read_timeout,
            allowed_hosts=settings.fetch_allowed_hosts.split(","),
            max_bytes=settings.fetch_max_bytes,
            total_seconds=settings.fetch_total_seconds,
        )

    @cached_property
    def service(self) -> ApiService:
        store, settings = self.store, self.settings
        page = settings.api_page_size
        operations = Operations(store)
        runs = RunService(
            store,
            operations=operations,
            page_size=page,
            timing=timing_policy(settings),
            failures_to_disable=settings.trigger_failures_to_disable,
            tracer=_LazyTracer(self),
        )
        probe = InputProbe(store, azure=self.azure, fetcher=self.fetcher)
        return ApiService(
            templates=TemplateService(
                store, operations=operations, page_size=page, access=lambda: self.azure.access
            ),
            deletion=TemplateDeletion(
                store, operations=operations, cleanup=StagingCleanup(store, azure=self.azure)
            ),
            triggers=TriggerService(store, operations=operations, page_size=page),
            run_outputs=RunOutputService(store, page_size=page),
            operations=operations,
            runs=runs,
            run_log=RunLog(runs, blobs_for=self.staging_blobs, follow_seconds=settings.log_follow_seconds),
            records=RunRecords(store, runs),
            janitor=Janitor(self.azure, store),
            source_triggers=SourceTriggers(store, runs, azure=self.azure, probe=probe),
            cycles=PatchCycles(
                store,
                runs,
                probe=probe,
                azure=self.azure,
                policy=cycle_policy(settings),
                late_after_seconds=settings.cycle_late_after_seconds,
                page_size=page,
            ),
            store=store,
        )

    @cached_property
    def build(self) -> ports.BuildPorts:
        return BuildPorts(self)

    def staging_blobs(self, account: str) -> ports.Blobs:
        """Blobs of a staging storage account kiln created, by name."""
        return self.azure.blobs(account_url=storage_account_url(self.settings, account))


class _LazyTracer:
    """The root's tracer, made on the first export (Azure Monitor is not imported to serve an API call)."""

    def __init__(self, kiln: Kiln) -> None:
        self._kiln = kiln

    def export(self, spans: Sequence[RunSpan]) -> None:
        self._kiln.tracer.export(spans)


def bootstrap(settings: Settings | None = None, *, overrides: Overrides | None = None) -> Kiln:
    """kiln composed from ``settings`` (the process's when omitted), with ``overrides`` in place."""
    return Kiln(settings or get_settings(), overrides)


_root: Kiln | None = None
_lock = threading.Lock()


def root() -> Kiln:
    """The process's kiln: composed from the process's settings on first use (never at import time)."""
    global _root
    if _root is None:
        with _lock:
            if _root is None:
                _root = bootstrap()
    return _root


@contextmanager
def installed(kiln: Kiln) -> Iterator[Kiln]:
    """Make ``kiln`` the process's root for a block (tests call the functions in-process this way)."""
    global _root
    with _lock:
        previous, _root = _root, kiln
    try:
        yield kiln
    finally:
        with _lock:
            _root = previous
