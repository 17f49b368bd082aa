"""Expand a panel's SQL the way Grafana does before PostgreSQL sees it.

Grafana turns a PostgreSQL panel query into SQL in two steps, and this module copies both so
the tests and the scale benchmark can run every panel's query against a real database. It is
a stand-in for Grafana (which cannot run here), used only by tests/ and benchmarks/, so it
lives in the source checkout's benchmarks package and not in the dashboards wheel:

1. **Frontend: template variables.** ``templateSrv.replace`` finds ``$name``, ``${name}``,
   ``${name:format}`` and ``[[name]]``; unknown names (``$__timeFilter`` ...) stay as they
   are. Values are formatted by the SQL data source's ``interpolateVariable``
   (packages/grafana-sql/src/datasource/SqlDatasource.ts): a multi-value or include-all
   variable becomes a list of quoted literals (``'a','b'``, quotes doubled), a single-value
   variable is inserted raw with its quotes doubled. ``$__interval``, ``$__interval_ms``,
   ``$__from`` and ``$__to`` are built-in variables.
2. **Backend: macros.** ``sqleng.Interpolate`` (pkg/tsdb/grafana-postgresql-datasource/
   sqleng/sql_engine.go) replaces ``$__interval``, ``$__interval_ms``, ``$__unixEpochFrom()``
   and ``$__unixEpochTo()``; then the macro engine (.../macros.go) expands
   ``$__name(args)`` matched by ``\\$([_a-zA-Z0-9]+)\\(([^\\)]*)\\)``, splitting arguments on
   commas. ``$__timeFilter(c)`` becomes ``c BETWEEN '<from>' AND '<to>'`` with RFC 3339
   times in UTC; ``$__timeGroup(c, '5m')`` becomes ``time_bucket('300.000s',c)`` when the
   data source has TimescaleDB enabled (``floor(extract(epoch from c)/300)*300`` otherwise);
   ``...Alias`` adds ``AS "time"``. The expected strings in tests/dashboards come from
   Grafana's own macros_test.go.

Not copied: the fill mode (third ``$__timeGroup`` argument), which Grafana applies to the
result afterwards, and comment stripping, which our queries do not need (they have none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


class MacroError(ValueError):
    """A Grafana macro or template variable could not be expanded (as Grafana would fail)."""

    def __init__(self, macro: str, problem: str) -> None:
        self.macro = macro
        self.problem = problem
        super().__init__(f"{macro}: {problem}")


ALL = "$__all"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# templateSrv's variableRegex (public/app/features/variables/utils.ts).
_VARIABLE = re.compile(r"\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}")
# macros.go: sExpr = `\$` + `([_a-zA-Z0-9]+)` + `\(([^\)]*)\)`
_MACRO = re.compile(r"\$([_a-zA-Z0-9]+)\(([^\)]*)\)")
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise MacroError("time range", "needs timezone-aware datetimes")


@dataclass(frozen=True)
class Variable:
    """A template variable's current value as the dashboard holds it.

    ``options`` are the values the variable's query offered; selecting "All" (``$__all``)
    on an include-all variable stands for all of them.
    """

    value: str | tuple[str, ...]
    multi: bool = False
    include_all: bool = False
    options: tuple[str, ...] = ()

    def values(self) -> str | tuple[str, ...]:
        selected = (self.value,) if isinstance(self.value, str) else self.value
        if self.include_all and ALL in selected:
            return self.options
        return self.value


def rfc3339nano(moment: datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: fraction without trailing zeros, ``Z`` suffix."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def format_interval(interval: timedelta) -> str:
    """gtime.FormatInterval: the largest whole unit (``1m``, ``5s``, ``2h``, ``1d``)."""
    milliseconds = int(interval / timedelta(milliseconds=1))
    units = (("y", 365 * 86_400_000), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000))
    for unit, size in units:
        if milliseconds >= size:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms" if milliseconds >= 1 else "1ms"


def parse_interval(text: str) -> float:
    """gtime.ParseInterval, in seconds: ``5m``, ``300ms``, ``1h30m``, ``2d``, ``1w``."""
    text = text.strip().strip("'")
    match = re.fullmatch(r"(\d+)([dw])", text)
    if match:
        return float(int(match.group(1)) * (86_400 if match.group(2) == "d" else 7 * 86_400))
    if not text or _GO_DURATION.sub("", text) != "":
        raise MacroError("$__timeGroup", f"error parsing interval {text!r}")
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in _GO_DURATION.findall(text))


def _go_float(value: float) -> str:
    """fmt's %v for a float64: integral values without a decimal point."""
    return str(int(value)) if value.is_integer() else repr(value)


def _quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _format(name: str, values: str | tuple[str, ...], variable: Variable, fmt: str | None) -> str:
    if fmt is None:  # SqlDatasource.interpolateVariable
        if isinstance(values, str):
            if variable.multi or variable.include_all:
                return _quote_literal(values)
            return values.replace("'", "''")
        return ",".join(_quote_literal(v) for v in values)
    items = (values,) if isinstance(values, str) else values
    if fmt == "sqlstring":
        return ",".join(_quote_literal(v) for v in items)
    if fmt in ("csv", "raw"):
        return ",".join(items)
    raise MacroError(f"${{{name}:{fmt}}}", "format not supported by this expander")


def interpolate_variables(
    sql: str,
    variables: Mapping[str, Variable],
    time_range: TimeRange,
    interval: timedelta,
) -> str:
    """Step 1, the frontend: template variables and the built-in ``$__interval`` family."""
    builtins = {
        "__interval": format_interval(interval),
        "__interval_ms": str(int(interval / timedelta(milliseconds=1))),
        "__from": str((time_range.start - EPOCH) // timedelta(milliseconds=1)),
        "__to": str((time_range.end - EPOCH) // timedelta(milliseconds=1)),
    }

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(4)
        fmt = match.group(3) or match.group(6)
        if name in builtins:
            return builtins[name]
        variable = variables.get(name)
        if variable is None:
            return match.group(0)  # not a variable here: a macro, or Grafana leaves it
        if match.group(5):
            raise MacroError(match.group(0), "field paths are not supported by this expander")
        return _format(name, variable.values(), variable, fmt)

    return _VARIABLE.sub(replace, sql)


def expand_macros(sql: str, time_range: TimeRange, interval: timedelta, *, timescaledb: bool = True) -> str:
    """Step 2, the backend: sqleng.Interpolate, then the PostgreSQL macro engine."""
    sql = sql.replace("$__interval_ms", str(int(interval / timedelta(milliseconds=1))))
    sql = sql.replace("$__interval", format_interval(interval))
    sql = sql.replace("$__unixEpochFrom()", str(_unix(time_range.start)))
    sql = sql.replace("$__unixEpochTo()", str(_unix(time_range.end)))
    original = sql

    def replace(match: re.Match[str]) -> str:
        name, raw_args = match.group(1), match.group(2)
        # Pre-5.3 compatibility in macros.go: "$__timeGroup(...)," means the alias form.
        if name == "__timeGroup":
            index = original.find(match.group(0))
            after = index + len(match.group(0))
            if index >= 0 and after < len(original) and original[after] == ",":
                name = "__timeGroupAlias"
        args = [arg.strip(" ") for arg in raw_args.split(",")]
        return _evaluate(name, args, time_range, timescaledb=timescaledb)

    return _MACRO.sub(replace, sql)


def _evaluate(name: str, args: list[str], time_range: TimeRange, *, timescaledb: bool) -> str:
    start, end = time_range.start.astimezone(UTC), time_range.end.astimezone(UTC)
    if name in _GROUP_MACROS:
        return _group(name, args, timescaledb=timescaledb)
    bare = {
        "__timeFrom": f"'{rfc3339nano(start)}'",
        "__timeTo": f"'{rfc3339nano(end)}'",
        "__unixEpochNanoFrom": str(_unix_nano(start)),
        "__unixEpochNanoTo": str(_unix_nano(end)),
    }
    if name in bare:
        return bare[name]
    with_column = {
        "__time": '{c} AS "time"',
        "__timeEpoch": 'extract(epoch from {c}) as "time"',
        "__timeFilter": f"{{c}} BETWEEN '{rfc3339nano(start)}' AND '{rfc3339nano(end)}'",
        "__unixEpochFilter": f"{{c}} >= {_unix(start)} AND {{c}} <= {_unix(end)}",
        "__unixEpochNanoFilter": f"{{c}} >= {_unix_nano(start)} AND {{c}} <= {_unix_nano(end)}",
    }
    if name not in with_column:
        raise MacroError(f"$__{name}", f"unknown macro {name!r}")
    if not args or not args[0]:
        raise MacroError(f"$__{name}", f"missing time column argument for macro {name}")
    return with_column[name].format(c=args[0])


_GROUP_MACROS = frozenset({"__timeGroup", "__timeGroupAlias", "__unixEpochGroup", "__unixEpochGroupAlias"})


def _group(name: str, args: list[str], *, timescaledb: bool) -> str:
    if len(args) < 2:
        raise MacroError(f"$__{name}", "needs time column and interval and optional fill value")
    column, seconds = args[0], parse_interval(args[1])
    step = _go_float(seconds)
    if name.startswith("__unixEpochGroup"):
        group = f"floor(({column})/{step})*{step}"
    elif timescaledb:
        group = f"time_bucket('{seconds:.3f}s',{column})"
    else:
        group = f"floor(extract(epoch from {column})/{step})*{step}"
    return f'{group} AS "time"' if name.endswith("Alias") else group


def _unix(moment: datetime) -> int:
    """Go's ``Time.Unix``: whole seconds, rounded down (also before 1970)."""
    return (moment - EPOCH) // timedelta(seconds=1)


def _unix_nano(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1) * 1000


def render(
    sql: str,
    *,
    variables: Mapping[str, Variable],
    time_range: TimeRange,
    interval: timedelta = timedelta(minutes=1),
    timescaledb: bool = True,
) -> str:
    """The SQL PostgreSQL receives for a panel query: frontend, then backend."""
    sql = interpolate_variables(sql, variables, time_range, interval)
    return expand_macros(sql, time_range, interval, timescaledb=timescaledb)
