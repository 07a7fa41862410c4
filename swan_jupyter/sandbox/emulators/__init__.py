"""Emulated HTTP services run by the sandbox host."""
