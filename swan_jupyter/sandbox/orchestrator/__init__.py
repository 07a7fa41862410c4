"""The Swan Orchestrator emulator: every endpoint swan-sdk 0.1.4 uses, payments verified on the local chain."""

from __future__ import annotations

from .app import OrchestratorService, create_service

__all__ = ["OrchestratorService", "create_service"]
