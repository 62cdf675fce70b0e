"""The kiln Functions app: creates the DFApp and registers every blueprint. No logic lives here."""

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)
