"""User-facing errors.

Every error a user can cause (bad file, bad option, mismatched checkpoint) is raised as an
EdgecError whose message names the file or object and the problem. The CLI prints the message
without a traceback and exits with status 2. Python 3.6 compatible: used on the device path.
"""


class EdgecError(Exception):
    """An error caused by the user's input, reported as one paragraph without a traceback."""

    exit_code = 2

    def __init__(self, message):
        # type: (str) -> None
        super(EdgecError, self).__init__(message)
        self.message = message


class CheckFailed(EdgecError):
    """A measurement completed but its output check failed (exit status 1, not 2: the command
    was used correctly and its result file was written)."""

    exit_code = 1
