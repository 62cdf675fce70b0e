"""devhost: a small local host for Python v2 Azure Functions apps with Durable Functions.

It imports an app's ``function_app.py`` unchanged and serves its HTTP, timer, Event Grid, orchestration and
activity triggers, the Durable HTTP API and the durable client binding. See ``devhost/README.md``.
"""
