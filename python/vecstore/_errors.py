"""The exception classes of vecstore, one per group of the C library's
status list (lib/vecstore.h), and the factory the C extension calls."""

from __future__ import annotations


class VecstoreError(Exception):
    """Base of every vecstore error (see vecstore/__init__.pyi)."""

    status: int
    name: str
    exit_code: int
    file: str | None
    line: int | None
    col: int | None
    field: str | None
    detail: str

    def __init__(
        self,
        detail: str,
        *,
        status: int = 1,
        name: str = "usage",
        file: str | None = None,
        line: int | None = None,
        col: int | None = None,
        field: str | None = None,
    ) -> None:
        self.status = status
        self.name = name
        self.exit_code = EXIT_CODES.get(status, 5)
        self.file = file or None
        self.line = line or None
        self.col = col or None
        self.field = field or None
        self.detail = detail
        super().__init__(self._message())

    def _message(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        elif self.line:
            where = f"item {self.line}: "
        if self.col and not self.detail.startswith("column"):
            where += f"column {self.col}: "
        if self.field:
            where += f"field '{self.field}': "
        return where + self.detail


class UsageError(VecstoreError, ValueError):
    """A bad argument or option (usage, config, unsupported)."""


class ClosedError(UsageError):
    """The store, embedder or reranker was closed."""


class FilterError(UsageError):
    """A filter does not parse."""


class InputError(VecstoreError, ValueError):
    """Bad input data."""


class DimensionError(InputError):
    """A vector's length differs from the store's dimension."""


class NonFiniteError(InputError):
    """A NaN or infinite number in a vector."""


class MetadataError(InputError):
    """Metadata that is not a JSON object."""


class StoreError(VecstoreError):
    """A store problem."""


class NoStoreError(StoreError):
    """No store at the path."""


class LockedError(StoreError):
    """Another writer holds the store's lock."""


class CorruptError(StoreError):
    """A checksum failed or a file is damaged."""


class ExistsError(StoreError):
    """The store exists and exclusive creation was asked."""


class ResourceError(VecstoreError):
    """A system error: io, no_space, no_memory, internal."""


class RemoteError(VecstoreError):
    """A network or remote-service error."""


class NotFoundError(VecstoreError, LookupError):
    """A valid negative answer (not_found, empty, gate)."""


# status -> class, and the vs-* programs' exit code (lib/vecstore.h's list)
CLASSES: dict[int, type[VecstoreError]] = {
    1: UsageError, 2: UsageError, 3: FilterError, 4: UsageError,
    5: InputError, 6: InputError, 7: InputError, 8: InputError,
    9: DimensionError, 10: NonFiniteError, 11: InputError,
    12: StoreError, 13: NoStoreError, 14: LockedError, 15: CorruptError,
    16: StoreError, 17: ExistsError,
    18: ResourceError, 19: ResourceError, 20: ResourceError,
    21: RemoteError, 22: RemoteError, 23: ResourceError,
    24: NotFoundError, 25: NotFoundError, 26: NotFoundError,
    27: InputError, 28: InputError,
}
EXIT_CODES: dict[int, int] = {
    0: 0, 1: 2, 2: 2, 3: 2, 4: 2,
    5: 3, 6: 3, 7: 3, 8: 3, 9: 3, 10: 3, 11: 3,
    12: 4, 13: 4, 14: 4, 15: 4, 16: 4, 17: 4,
    18: 5, 19: 5, 20: 5, 21: 5, 22: 5, 23: 5,
    24: 1, 25: 1, 26: 1, 27: 3, 28: 3,
}


def make_error(
    status: int,
    name: str,
    message: str,
    file: str | None,
    line: int,
    col: int,
    field: str | None,
    detail: str,
    closed: int,
) -> VecstoreError:
    """Called by the C extension: the exception for a status."""
    cls: type[VecstoreError]
    if closed:
        cls = ClosedError
    elif status == 6 and field and field.startswith("metadata"):
        cls = MetadataError
    else:
        cls = CLASSES.get(status, VecstoreError)
    return cls(detail or message, status=status, name=name, file=file, line=line,
               col=col, field=field)


def usage(detail: str, field: str | None = None) -> UsageError:
    """A UsageError found by the Python layer."""
    return UsageError(detail, status=1, name="usage", field=field)
