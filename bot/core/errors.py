"""Failures that carry their own text: what a user sees, or one line for the operator."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; `text` is what they see."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class UsageError(Exception):
    """Wrong arguments: the user sees `detail` (if any) and the command's usage line."""

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or "usage")
        self.detail = detail


class StartupError(Exception):
    """Start-up cannot go on; the message is one clear line for the operator."""
