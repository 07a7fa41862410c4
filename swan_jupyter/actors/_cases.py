"""Field-name case conversion between Abaco's camelCase (v2) and snake_case (v3) wire formats.

Only the top-level keys of a mapping are converted; nested user data (``default_environment`` values, state,
``final_state``) is left exactly as sent. ``_links`` and other keys starting with ``_`` keep their name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])([A-Z])")


@lru_cache(maxsize=4096)
def to_snake(name: str) -> str:
    """``defaultEnvironment`` -> ``default_environment``; snake names and ``_links`` are unchanged."""
    if name.startswith("_") or name.islower():
        return name
    return _CAMEL_BOUNDARY.sub(lambda m: "_" + m.group(1).lower(), name)


@lru_cache(maxsize=4096)
def to_camel(name: str) -> str:
    """``default_environment`` -> ``defaultEnvironment``; camel names and ``_links`` are unchanged."""
    if name.startswith("_") or "_" not in name:
        return name
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def snake_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with top-level keys in snake_case."""
    return {to_snake(k if isinstance(k, str) else str(k)): v for k, v in data.items()}


def snake_rows(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Records (either case) as snake_case dicts; a dict already in snake_case is kept as it is (no copy).

    Anything that is not a mapping is skipped. For bulk answers (thousands of records).
    """
    out: list[dict[str, Any]] = []
    snake: dict[Any, bool] = {}  # key -> already snake_case (records of one answer share their keys)
    for item in items:
        if not isinstance(item, Mapping):
            continue
        for k in item:
            fine = snake.get(k)
            if fine is None:
                fine = snake[k] = isinstance(k, str) and (k.islower() or k.startswith("_"))
            if not fine:
                out.append(snake_keys(item))
                break
        else:
            out.append(item if isinstance(item, dict) else dict(item))
    return out


def camel_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` with top-level keys in camelCase."""
    return {to_camel(str(k)): v for k, v in data.items()}


def wire_keys(data: Mapping[str, Any], flavor: str) -> dict[str, Any]:
    """Keys in the server's case: camel for ``v2``, snake for ``v3``."""
    return camel_keys(data) if flavor == "v2" else snake_keys(data)


__all__ = ["camel_keys", "snake_keys", "snake_rows", "to_camel", "to_snake", "wire_keys"]
