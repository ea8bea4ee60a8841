"""Errors raised by the engine.

`UserInputError` means the caller's data or request is wrong (the server maps it to error
category "user"); any other exception is a bug or an environment problem on our side.
"""


class UserInputError(ValueError):
    """A problem caused by the caller's input; the message names the field and what was expected."""
