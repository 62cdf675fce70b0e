"""The kiln Functions app: creates the DFApp and registers every blueprint. No logic lives here."""

import azure.durable_functions as df
import azure.functions as func

from activities import functions as build_activities
from activities import run_functions
from orchestrators import functions as build_orchestrators
from triggers import (
    api_openapi,
    api_provider,
    api_runs,
    api_templates,
    api_triggers,
    janitor,
    source_events,
    source_poll,
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# The imageTemplates REST API (issue 4).
app.register_functions(api_templates.bp)
app.register_functions(api_triggers.bp)
app.register_functions(api_provider.bp)
app.register_functions(api_openapi.bp)

# Runs through the API, their bookkeeping activities and the janitor (issue 6).
app.register_functions(api_runs.bp)
app.register_functions(run_functions.bp)
app.register_functions(janitor.bp)

# The build: its orchestrations and one activity per phase (issue 6).
app.register_functions(build_orchestrators.bp)
app.register_functions(build_activities.bp)

# Builds that start by themselves: SourceImage triggers from Event Grid and the source poll (autoRun is in
# the template PUT).
app.register_functions(source_events.bp)
app.register_functions(source_poll.bp)
