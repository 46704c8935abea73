"""Errors porelab raises on bad input. The CLI prints them as one line, without a traceback."""


class PorelabError(Exception):
    """Base of every error caused by the user's input (files, flags, configs)."""


class VolumeError(PorelabError, ValueError):
    """A volume file, its sidecar or its contents is not what porelab expects.

    The message names the file, the field and what was expected.
    """


class ConfigError(PorelabError, ValueError):
    """A configuration value (from YAML, JSON or a CLI flag) is invalid."""
