"""The owner web console: server-rendered pages for owner admins, auditors and outsourcer supervisors.

Served on its own listener (``serve --console-host/--console-port``, default
127.0.0.1:8444), never on the agent API's port. Pages call the same services
as the CLI; the console adds no logic of its own.
"""
