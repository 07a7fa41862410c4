"""The Abaco actors emulator: v2 (agavepy) and v3 (tapipy) APIs over one SQLite store, actors run as processes."""

from __future__ import annotations

from .app import AbacoService, create_service

__all__ = ["AbacoService", "create_service"]
