"""The kiln Functions app: creates the DFApp and registers the blueprints of ``functions/`` (no logic)."""

import azure.durable_functions as df
import azure.functions as func

from functions import (
    activities,
    api_openapi,
    api_provider,
    api_runs,
    api_templates,
    api_triggers,
    events,
    orchestrations,
    timers,
    web,
)

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# The imageTemplates REST API.
for api in (api_templates, api_triggers, api_provider, api_openapi, api_runs):
    app.register_functions(api.bp)

# The build: its orchestrations and its activities.
app.register_functions(orchestrations.bp)
app.register_functions(activities.bp)

# Builds that start by themselves (SourceImage triggers from Event Grid; autoRun is in the template PUT) and
# the timers: the SourceImage poll and the janitor.
app.register_functions(events.bp)
app.register_functions(timers.bp)

# kiln's web page: static files read by the browser, which calls the API above (docs/web.md).
app.register_functions(web.bp)
