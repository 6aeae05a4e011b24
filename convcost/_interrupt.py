"""The user's Ctrl-C, as an exception that imports nothing (the SIGINT handler may run while
the standard library itself is half imported)."""


class Interrupted(BaseException):
    """The user pressed Ctrl-C (raised by the CLI's SIGINT handler; exit 130). A
    ``KeyboardInterrupt`` raised by the model's own code is not this: it is exit 3."""
