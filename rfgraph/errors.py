"""The one error type of rfgraph: a bad input, located as FILE:LINE."""

from __future__ import annotations


class RFGraphError(ValueError):
    """An invalid network description or analysis request.

    ``str(error)`` reads ``path:line: node 'name': message``; the parts that are
    unknown are left out.

    >>> str(RFGraphError("unknown op 'conv3'", path="net.yaml", line=4, node="c1"))
    "net.yaml:4: node 'c1': unknown op 'conv3'"
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        node: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.line = line
        self.node = node

    def __str__(self) -> str:
        where = self.path or "<string>"
        if self.line is not None:
            where += f":{self.line}"
        what = f"node {self.node!r}: {self.message}" if self.node is not None else self.message
        return f"{where}: {what}"

    def located(self, path: str | None) -> RFGraphError:
        """Return this error with ``path`` filled in where it was unknown."""
        if self.path is None:
            self.path = path
        return self
