"""The exceptions costkit raises. The CLI turns each into one line on stderr."""


class CostkitError(Exception):
    """Base of every error costkit raises on purpose. `exit_code` is what the CLI exits with."""

    exit_code = 2


class CardError(CostkitError):
    """A price card file is malformed: missing or negative rate, unknown field, bad date."""


class UnknownModelError(CostkitError):
    """No price card (or tokenizer) for a model; the message lists the known ones."""

    def __init__(self, model: str, known: list[str], what: str = "price card"):
        self.model = model
        self.known = sorted(known)
        listed = ", ".join(self.known) or "none"
        super().__init__(f"unknown model {model!r}: no {what} for it; known models: {listed}")


class NoCardInEffectError(CostkitError):
    """A model is known but no card of it is in effect at the given instant."""


class InputError(CostkitError):
    """Bad user input (a file, a body, an option): the message names file, line and field."""


class StoreError(CostkitError):
    """The usage store cannot be opened or written (e.g. locked by another process)."""


class NoStoreError(StoreError):
    """Nothing at the path is a costkit store: no file, a directory, a file that is not a
    DuckDB database, or a DuckDB database without costkit's tables. Only writers create one."""


class OutputError(CostkitError):
    """A file costkit was asked to write cannot be written (path, folder, permission, space)."""


class BudgetExceeded(CostkitError):
    """A projected or estimated cost is over the user's budget."""

    exit_code = 3


class StaleData(CostkitError):
    """A budget cannot be checked: the newest usage is older than --stale-after, and days
    read as no spend must not pass a budget check (0) nor fail it (3)."""

    exit_code = 4
