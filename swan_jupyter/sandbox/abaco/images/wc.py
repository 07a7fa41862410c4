"""``abacosamples/wc``: count the words of the message (``MSG``) and print the count."""

from __future__ import annotations

import os


def main() -> None:
    """Print the message and ``Number of words is: <n>``."""
    message = os.environ.get("MSG", "")
    print(f"Actor received message: {message}")
    print(f"Number of words is: {len(message.split())}")


if __name__ == "__main__":
    main()
