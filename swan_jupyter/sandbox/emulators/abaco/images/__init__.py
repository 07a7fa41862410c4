"""Built-in actor "images" of the Abaco emulator: small Python scripts run as child processes."""
