"""Azurite (the Azure Storage emulator from npm) for tests and benchmarks, started as the local stack starts
it (``cli.local_procs``), in memory."""

from __future__ import annotations

from dataclasses import dataclass

from cli.local_procs import AZURITE_ACCOUNT, AZURITE_KEY, Proc, free_port
from cli.local_procs import start_azurite as start_azurite_proc
from tests.support.tempdirs import new_dir

ACCOUNT, KEY = AZURITE_ACCOUNT, AZURITE_KEY
__all__ = ["ACCOUNT", "KEY", "Azurite", "free_port", "start_azurite"]


@dataclass
class Azurite:
    """A running Azurite blob service."""

    proc: Proc

    @property
    def port(self) -> int:
        return int(self.proc.info["port"])

    @property
    def blob_endpoint(self) -> str:
        return str(self.proc.info["blobEndpoint"])

    @property
    def connection_string(self) -> str:
        return str(self.proc.info["connectionString"])

    def stop(self) -> None:
        self.proc.stop()


def start_azurite(port: int | None = None, timeout: float = 30.0) -> Azurite:
    """Start azurite-blob on 127.0.0.1, in memory, and wait until it accepts connections."""
    return Azurite(start_azurite_proc(new_dir("azurite-"), in_memory=True, port=port, timeout=timeout))
