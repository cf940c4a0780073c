"""repro-gen: render a reproducible ML research repository for Chameleon Cloud from a spec."""

__version__ = "0.1.0"
