"""The one exception hierarchy of dipkb. The CLI turns every DipkbError into a one-line message."""
from __future__ import annotations

import re
from dataclasses import dataclass


class DipkbError(Exception):
    """Base class: a user or input error. ``exit_code`` follows the documented CLI codes."""

    exit_code = 2

    def __reduce__(self):
        # Pickled whole (from a child process, dipkb.util.forked): rebuilt without calling __init__
        # again, which for some subclasses takes other arguments than the message it made.
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls: type[DipkbError], args: tuple, state: dict) -> DipkbError:
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


@dataclass(frozen=True)
class SyntaxProblem:
    """One syntax error in one file, with the place the parser reported."""

    path: str
    line: int | None
    column: int | None
    message: str

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class KBSyntaxError(DipkbError):
    """One or more files of the knowledge base do not parse; every bad file is listed."""

    def __init__(self, problems: list[SyntaxProblem]):
        self.problems = problems
        lines = [str(p) for p in problems]  # one problem: one line, as every other error
        super().__init__("\n".join(lines + [f"{len(problems)} files failed to load."] if len(lines) > 1 else lines))


class KBNotFoundError(DipkbError):
    """The knowledge-base directory or a file named on the command line does not exist."""


class QueryError(DipkbError):
    """A SPARQL query is malformed or cannot run."""


class ForbiddenQueryError(QueryError):
    """A query uses a feature that could reach the network or change data (SERVICE, LOAD, updates)."""


class QueryTimeoutError(QueryError):
    """A query ran past its time limit and was stopped."""


class QueryMemoryError(QueryError):
    """A query needed more memory than a server's query worker may take, and was stopped."""


class UnknownQueryError(QueryError):
    """No saved query has the name asked for; the message lists those there are."""


class QueryTooLargeError(QueryError):
    """A request's body is larger than any query dipkb runs (HTTP 413)."""


class NotAcceptableError(DipkbError):
    """A client asked for an answer only in formats dipkb does not write (HTTP 406); the message
    lists those it writes."""


class EndpointError(DipkbError):
    """A remote SPARQL endpoint cannot be used: unreachable, refusing the credentials (401, 403),
    failing (5xx) or not answering in time. The message names the URL (never the credentials) and
    the status; ``status`` is None when no HTTP answer came, ``detail`` the first line of the server's;
    ``connected`` is False when no connection was made (refused, no such host): nothing was sent."""

    def __init__(self, message: str, status: int | None = None, detail: str = "", *, connected: bool = True):
        super().__init__(message)
        self.status = status
        self.detail = detail
        self.connected = connected


class UsageError(DipkbError):
    """A command cannot do what it was asked with these options (a port already taken)."""


class ParameterError(DipkbError):
    """A query parameter is missing, unknown or not of its declared type."""


class UnknownNameError(DipkbError):
    """A name or IRI given for an actor, place, event or source matches nothing in the KB."""

    def __init__(self, message: str, suggestions: tuple[tuple[str, str], ...] = ()):
        """``suggestions``: the (address, label) of what the name may have meant, said after ``message``
        (a page of the web layer lists them as links)."""
        self.message = message
        self.suggestions = suggestions
        listed = ", ".join(f"{address} ({label})" for address, label in suggestions)
        super().__init__(f"{message} Did you mean {listed}?" if listed else message)


class AmbiguousNameError(DipkbError):
    """A name matches several resources; the message lists them so the user can pick an IRI."""

    def __init__(self, name: str, candidates: list[tuple[str, str]]):
        self.name = name
        self.candidates = candidates
        listing = "; ".join(f"{curie} ({label})" for curie, label in candidates)
        super().__init__(f"'{name}' is ambiguous, it matches: {listing}. Pass one of these IRIs instead.")


class IndexLockedError(DipkbError):
    """Another dipkb process holds the write lock for too long."""


class ImportInputError(DipkbError):
    """A file given to import cannot be read as its format at all: empty, not JSON, a zip archive
    without exactly one member, an ICEWS file without its header. Problems of single rows are not
    errors: they are rejected rows, counted with their reasons."""


class ImportValidationError(DipkbError):
    """What an import or an added event would write does not conform to the SHACL shapes; nothing
    was written. ``findings`` holds the validation results to show."""

    exit_code = 1

    def __init__(self, message: str, findings: list):
        self.findings = findings
        super().__init__(message)


class EventDraftError(DipkbError):
    """An event to add cannot be built: an unknown type, role, actor, place or source, a malformed date,
    a missing label. ``problems`` lists (reason, detail) pairs, every one found, not just the first."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{reason}: {detail}" if detail else reason for reason, detail in problems))


class ReadOnlyKBError(DipkbError):
    """A write to the example KB inside the installed package: pip would delete it with the package."""


class KBInitError(DipkbError):
    """`dipkb init` would overwrite something, or its directory already holds a dipkb KB; nothing was changed."""


class WriteError(DipkbError):
    """A file or directory cannot be written: a read-only file system, a missing permission, a full
    disk. ``util.paths.reporting_write_errors`` raises it from the OSError, with the path and the system's reason."""


class KBFileError(DipkbError):
    """A path of the KB is named like a data file but is not one that may be read: a directory, a
    symbolic link that leads out of the KB's directory or nowhere, a device or pipe; or a directory
    of the KB cannot be listed."""


class InternalError(DipkbError):
    """A bug in dipkb: a condition its own code guarantees did not hold. Raised where an ``assert``
    would vanish under ``python -O``; the message says what went wrong."""

    def __init__(self, what: str):
        super().__init__(f"Internal error, please report it: {what}.")


class IndexDamagedError(DipkbError):
    """The on-disk index's files are damaged (RocksDB's "Corruption: ..." while reading): a disk
    fault, or a file changed by hand. The KB's own files are not affected; a rebuild mends it."""

    @classmethod
    def of(cls, error: BaseException) -> IndexDamagedError | None:
        """The error for an engine's ``error``, when it says the index is damaged; else None."""
        said = " ".join(str(error).split())
        if not isinstance(error, RuntimeError) or "Corruption:" not in said:
            return None
        what = re.split(r":| stored| = | in /| from /", said[said.index("Corruption:") + 11:], maxsplit=1)[0].strip()
        where = re.search(r"/\S+\.sst", said)
        return cls(f"The index is damaged ({what}{f' in {where.group()}' if where else ''}): run "
                   "`dipkb index --rebuild`; the KB's files are not affected.")


class IndexUnavailableError(DipkbError):
    """The on-disk index cannot be opened right after it was refreshed: something outside dipkb removed
    or replaced its files."""


class KBLockedError(DipkbError):
    """Another dipkb process keeps the KB's write lock (an add or import is writing its files) for too
    long. The index has its own lock and error, IndexLockedError."""
