"""An error whose transaction must still commit.

Some refusals change state that must survive them: the audit entry of a
failed login, an expired lease being closed. A service raises
``DeferredError(error)``; the request's transaction
(``ServerState.transaction``) commits, then returns the wrapped error.
"""

from __future__ import annotations

from shared.errors import CustosError

__all__ = ["DeferredError"]


class DeferredError(Exception):
    """Carries ``error``; the surrounding transaction commits before it is raised.

    Args:
        error: The domain error the caller finally gets.
    """

    def __init__(self, error: CustosError) -> None:
        super().__init__(error.message)
        self.error = error
