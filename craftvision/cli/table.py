"""The verbs' tables: cells fold onto more lines rather than being cut short in a narrow terminal.

Example:
    >>> from craftvision.cli.table import folding_table
    >>> table = folding_table(["file", "grade"], right={"grade"})
    >>> [c.overflow for c in table.columns], table.columns[1].justify
    (['fold', 'fold'], 'right')
"""

from __future__ import annotations

from collections.abc import Container, Iterable

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
