"""The local sandbox: emulators of the Orchestrator and Abaco HTTP APIs plus a real local chain (anvil).

Run it with ``swan-jupyter sandbox start`` (background) or ``swan-jupyter sandbox start --foreground``.
The client package never imports this subpackage; it only reads the ``sandbox.json`` the host writes.
"""
