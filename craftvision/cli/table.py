"""The verbs' tables: cells fold onto more lines rather than being cut short in a narrow terminal.

Example:
    >>> from craftvision.cli.table import figure, folding_table
    >>> table = folding_table(["file", "grade"], right={"grade"})
    >>> [c.overflow for c in table.columns], table.columns[1].justify
    (['fold', 'fold'], 'right')
    >>> [figure(v) for v in (9.0, 33.41, 0.0431, 157.8, None, 3)]
    ['9.00', '33.4', '0.0431', '158', '-', '3']
"""

from __future__ import annotations

from collections.abc import Container, Iterable
from typing import Any

from rich.table import Table


def folding_table(
    columns: Iterable[str], *, right: Container[str] = (), title: str | None = None
) -> Table:
    """A table with a bold header whose cells fold: a file name or grade cut to
    "machine-re…" in an 80-column terminal is lost to the reader. ``right``: the columns
    justified right (numbers)."""
    table = Table(header_style="bold", title=title)
    for column in columns:
        table.add_column(column, justify="right" if column in right else "left", overflow="fold")
    return table


def figure(value: Any) -> str:
    """A measured figure for a table cell: three significant digits, trailing zeros kept (a
    column reads "9.00" beside "9.68", not "9"), whole numbers from 100 up; ``-`` for none."""
    if value is None:
        return "-"
    if not isinstance(value, float):
        return str(value)
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:#.3g}".rstrip(".")
