"""The kiln Functions app: creates the DFApp and registers every blueprint. No logic lives here."""

import azure.durable_functions as df
import azure.functions as func

from triggers import api_openapi, api_provider, api_templates, api_triggers

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

# The imageTemplates REST API (issue 4).
app.register_functions(api_templates.bp)
app.register_functions(api_triggers.bp)
app.register_functions(api_provider.bp)
app.register_functions(api_openapi.bp)
