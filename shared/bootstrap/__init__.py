"""The composition root: the one place kiln's parts are built — the Azure clients and adapters, the document
store, the artifact fetcher, the service and the ports of the build's activities — lazily, from settings.

Nothing else constructs an adapter. ``root()`` is the process's kiln (the functions call it); ``bootstrap()``
composes one from given settings, with ``Overrides`` putting stateful fakes in place of real parts, so tests,
benchmarks and the functions share one composition; ``installed()`` makes one the process's root for a block.
Importing this package imports no Azure SDK: each client is built on the first use of a port that needs it.
"""

from shared.bootstrap.azure_ports import AzurePorts
from shared.bootstrap.build_ports import BuildPorts
from shared.bootstrap.endpoints import sim_blob_endpoint, storage_account_url, timing_policy
from shared.bootstrap.root import Kiln, Overrides, bootstrap, installed, root

__all__ = [
    "AzurePorts",
    "BuildPorts",
    "Kiln",
    "Overrides",
    "bootstrap",
    "installed",
    "root",
    "sim_blob_endpoint",
    "storage_account_url",
    "timing_policy",
]
