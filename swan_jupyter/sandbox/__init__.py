"""The local sandbox: emulators of the Orchestrator and Abaco HTTP APIs plus a real local chain (anvil).

Run it with ``swan-jupyter sandbox start`` (background) or ``swan-jupyter sandbox start --foreground``.
The client core and the IPython layer never import this subpackage: they read the ``sandbox.json`` the host
writes and start the sandbox as a separate process; only the ``swan-jupyter sandbox`` command imports it.
"""
