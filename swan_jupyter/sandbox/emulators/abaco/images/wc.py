"""abacosamples/wc: count the words of the message, print the count and return it as a result."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import send_bytes_result

count = len(os.environ.get("MSG", "").split())
print(f"Number of words: {count}")
send_bytes_result(str(count).encode())
