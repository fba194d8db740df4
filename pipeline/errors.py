"""The one exception a stage raises for a user-facing failure."""


class StageError(Exception):
    """A failure the user can fix (missing file, nothing left to do, bad option).

    The CLI prints its message as one line and exits non-zero, without a
    traceback: a traceback is for our bugs, not for the user's inputs.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
