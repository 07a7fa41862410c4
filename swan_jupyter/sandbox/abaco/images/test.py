"""``abacosamples/test``: print the environment and the message, like Abaco's sample image.

The value of ``_abaco_access_token`` is not printed (only its length): logs never carry secrets.
"""

from __future__ import annotations

import os


def main() -> None:
    """Print every environment variable, then ``Contents of MSG: <MSG>``."""
    for key in sorted(os.environ):
        value = os.environ[key]
        if key == "_abaco_access_token" and value:
            value = f"<redacted, {len(value)} characters>"
        print(f"{key}={value}")
    print(f"Contents of MSG: {os.environ.get('MSG', '')}")
    print("Environment:", sorted(os.environ))


if __name__ == "__main__":
    main()
