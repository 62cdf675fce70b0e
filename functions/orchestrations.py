"""Registers kiln's orchestrators under the names ``shared.models.durable`` gives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import azure.durable_functions as df

from orchestrators.build_image import build_image
from orchestrators.flow import Yields
from orchestrators.patch_cycle import patch_cycle
from shared.models import durable as d
from shared.models.cycles import PATCH_CYCLE

bp = df.Blueprint()
Orchestrator = Callable[[df.DurableOrchestrationContext], Yields]
ORCHESTRATORS: tuple[tuple[d.Orchestration[Any, Any], Orchestrator], ...] = (
    (d.BUILD_IMAGE, build_image),
    (PATCH_CYCLE, patch_cycle),
)


def _register(name: str, orchestrator: Orchestrator) -> None:
    def function(context: df.DurableOrchestrationContext) -> Yields:
        return (yield from orchestrator(context))

    function.__name__ = function.__qualname__ = name
    bp.function_name(name=name)(bp.orchestration_trigger(context_name="context")(function))


for _orchestration, _orchestrator in ORCHESTRATORS:
    _register(_orchestration.name, _orchestrator)
