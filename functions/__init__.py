"""The functions the Functions host indexes, and nothing else: the ARM-shaped HTTP API (``api_*``), the Event
Grid function (``events``), the timers (``timers``) and the Durable registrations of the orchestrators and
activities (``orchestrations``, ``activities``). Each parses its input, calls one service operation or phase,
and answers; ``function_app.py`` registers their blueprints."""
