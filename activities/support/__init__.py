"""What the phase modules of ``activities/`` share but no orchestrator calls: the ports bundle and error guard
(``context``), the artifacts of a template (``uris``), ``customization.log`` (``steplog``), the command text
of a step (``scripts``), the build VM's ARM deployment (``deployment_template``), and the two halves of
distribute that need more than a screen (``gallery``, ``vhd``)."""
