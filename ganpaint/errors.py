"""Errors meant for users: each carries one clear sentence.

The CLI prints ``ganpaint: error: <message>`` on stderr and exits 2; the GUI shows the message in its
notice bar. Programming errors stay ordinary Python exceptions.
"""


class GanpaintError(Exception):
    """Base class of every error whose message is shown to the user as it is."""


class ImageLoadError(GanpaintError):
    """An image, mask or label map could not be read, or has the wrong size or an absurd size."""


class ProjectError(GanpaintError):
    """A ``.ganpaint`` project file could not be read or written."""


class ModelError(GanpaintError):
    """A model card or weights file is missing, corrupt, or fails its sha256 check."""


class EngineError(GanpaintError):
    """An engine could not run a request (bad request, unsupported device...)."""


class ReadOnlyFileError(GanpaintError):
    """A save would overwrite a read-only file (the GUI asks first, the CLI needs ``--force``)."""


class DatasetError(GanpaintError):
    """A training or evaluation data folder is missing, empty or malformed."""
