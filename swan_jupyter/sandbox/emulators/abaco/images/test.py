"""abacosamples/test: print the environment and the message."""

from __future__ import annotations

import os

for key, value in sorted(os.environ.items()):
    if key != "_abaco_access_token":
        print(f"{key}={value}")
print(f"Contents of MSG: {os.environ.get('MSG', '')}")
