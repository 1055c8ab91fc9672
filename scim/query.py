"""Translate SCIM filters (RFC 7644 §3.4.2.2) into Peewee expressions that run in SQL.

The caller describes where each attribute lives with a :class:`FieldMap`; this module never
imports Flask or an application model. The same filter gives the same rows on SQLite (3.38+,
JSON1) and PostgreSQL (12+); the rules below are what "the same" means.

Semantics
---------
* Every translated leaf is two-valued (TRUE/FALSE, never SQL NULL), so ``not``, ``ne`` and
  ``or`` behave like an in-memory evaluator: a missing, NULL or wrongly typed value simply
  fails the comparison. Nullable columns get an ``col IS NOT NULL AND ...`` guard (which keeps
  indexes usable); JSON leaves are wrapped in ``COALESCE(..., FALSE)``.
* ``ne`` is ``not (eq)``, also for multi-valued attributes (``emails.type ne "work"``: no
  email is of type work). ``eq null`` is ``not pr``, ``ne null`` is ``pr``; other operators
  with null fail with invalidFilter.
* Strings (``string``, ``reference``): ``caseExact`` attributes compare exactly. Otherwise:
  ``folded`` columns (which hold ``str.casefold()``) compare with ``value.casefold()`` and
  nothing else, so ``userName eq "x"`` is a plain indexable ``col = ?``; other columns and
  JSON strings are lowered with ASCII-only case folding on both sides (SQLite's ``lower()``
  only folds ASCII; on Postgres ``lower(x COLLATE "C")`` does the same whatever the database
  locale). Non-ASCII letters therefore match case-sensitively outside folded columns. An
  index for such a column must be on ``lower(col)`` (Postgres: ``lower(col COLLATE "C")``).
  ``binary`` values are case-exact and allow only ``eq``/``ne``/``pr``.
* ``co``/``sw``/``ew``: case-insensitive ones are ``LIKE ... ESCAPE '\\'`` on lowered
  operands with ``%``, ``_`` and ``\\`` escaped (SQLite's LIKE ignores ASCII case, Postgres'
  does not; lowering both sides makes that moot); case-exact ones avoid LIKE altogether:
  ``instr``/``substr`` on SQLite, ``strpos``/``left``/``right`` on Postgres.
* ``gt``/``ge``/``lt``/``le`` on strings compare code points (SQLite BINARY, Postgres
  ``COLLATE "C"``), numbers numerically, dateTimes chronologically. They fail with
  invalidFilter on boolean and binary attributes (RFC 7644 §3.4.2.2); ``co``/``sw``/``ew``
  fail on anything that is not a string or reference.
* Value types: strings need a JSON string, integer/decimal a JSON number, boolean a JSON
  boolean or the string ``"true"``/``"false"`` in any case (Microsoft Entra sends those),
  dateTime an RFC 3339 timestamp (no offset means UTC). Anything else is invalidFilter.
* dateTime columns hold naive UTC datetimes; the filter value is converted to one and bound
  through the column's converter. dateTimes inside JSON documents must be stored as UTC
  ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``; they are compared as text after stripping trailing
  ``.``, ``0`` and ``Z`` characters from both sides, which keeps text order chronological
  and makes ``...:30Z`` equal to ``...:30.000Z``. Other stored spellings compare as text.
* ``pr``: not NULL and not ``""`` (JSON: not ``null``, ``""``, ``[]`` or ``{}``); a
  multi-valued attribute is present when its array has an element (or, for a related table,
  a row). A single-valued complex attribute mapped through its sub-attributes (``name``) is
  present when any mapped sub-attribute is; comparing it directly is invalidFilter.
  ``name[givenName eq "x"]`` is accepted as ``name.givenName eq "x"``.
* Multi-valued attributes match when some element does; ``emails[type eq "work" and value
  co "@x"]`` needs one element to satisfy the whole bracket. Without a sub-attribute the
  ``value`` sub-attribute is compared (RFC 7643 §2.4). A document whose array is missing or
  is not an array has no elements.
* Sorting (:func:`sort_expression`) uses the same keys as ``gt``/``lt``; a JSON array sorts by
  its primary element, else its first; related tables and complex attributes are rejected.
* Client values are always bound parameters. JSON paths come from the server-side field map:
  bound on SQLite, inlined as escaped ``text[]`` literals on Postgres (as peewee does).
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import peewee
from peewee import SQL, Case, Entity, Expression, NodeList, Select, Value, fn

from scim.errors import InvalidFilterError
from scim.filter_ast import (
    COMPARISON_OPERATORS,
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    Present,
    ValuePath,
)

Dialect = Literal["sqlite", "postgres"]

STRING_TYPES = frozenset({"string", "reference", "binary"})
SCALAR_TYPES = STRING_TYPES | {"boolean", "integer", "decimal", "dateTime"}


def dialect_of(database: peewee.Database) -> Dialect:
    """The dialect of a peewee database (or of the database behind a ``DatabaseProxy``)."""
    db = database.obj if isinstance(database, peewee.Proxy) else database
    if isinstance(db, peewee.SqliteDatabase):
        return "sqlite"
    if isinstance(db, peewee.PostgresqlDatabase):
        return "postgres"
    raise ValueError(f"unsupported database for SCIM filters: {type(db).__name__}")


@dataclass(frozen=True)
class ColumnAttr:
    """A single-valued attribute stored in its own column."""

    column: peewee.ColumnBase
    type: str
    case_exact: bool = False
    folded: bool = False  # the column holds str.casefold() of the value


@dataclass(frozen=True)
class JsonAttr:
    """A single-valued attribute inside a ``peewee.JSONField`` document."""

    column: peewee.JSONField
    keys: tuple[str, ...]
    type: str
    case_exact: bool = False


@dataclass(frozen=True)
class SubAttr:
    """A sub-attribute of JSON array elements; ``name`` is its JSON key (default: map key)."""

    type: str
    case_exact: bool = False
    name: str | None = None


@dataclass(frozen=True)
class JsonMultiAttr:
    """A multi-valued attribute: a JSON array inside a ``peewee.JSONField`` document.

    ``sub_attributes`` maps lowercased sub-attribute names to their types; leave it empty for
    an array of simple values, whose element type and case-exactness are ``type`` and
    ``case_exact``.
    """

    column: peewee.JSONField
    keys: tuple[str, ...]
    sub_attributes: Mapping[str, SubAttr] = field(default_factory=dict)
    type: str = "complex"
    case_exact: bool = False


@dataclass(frozen=True)
class RelatedAttr:
    """A multi-valued attribute stored as rows of another table.

    ``base`` returns a fresh SELECT correlated with the outer row (e.g. the members of this
    group); the translation adds ``.where(...)`` and wraps it in ``EXISTS``.
    """

    base: Callable[[], peewee.SelectQuery]
    sub_attributes: Mapping[str, ColumnAttr]


Attr = ColumnAttr | JsonAttr | JsonMultiAttr | RelatedAttr


@dataclass(frozen=True)
class FieldMap:
    """Where each filterable attribute of one resource type lives.

    Keys are lowercased dotted names (``username``, ``name.familyname``, ``emails``,
    ``urn:...:enterprise:2.0:user:employeenumber``); a path qualified with ``core_uri`` is
    looked up without the URN.
    """

    attrs: Mapping[str, Attr]
    core_uri: str
    # Attributes the server never returns nor keeps (RFC 7643 returned "never", ``password``):
    # a filter or sortBy on one is refused, since it could only pretend to answer.
    write_only: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        """Reject keys that could never match a lowercased lookup."""
        bad = [key for key in (*self.attrs, *self.write_only) if key != key.lower()]
        if bad:
            raise ValueError(f"FieldMap keys must be lowercase: {bad}")


def to_expression(flt: Filter, fields: FieldMap, dialect: Dialect) -> peewee.ColumnBase:
    """Translate a filter into a two-valued Peewee WHERE expression; raise InvalidFilterError."""
    return _Translator(fields, dialect).filter(flt, None)


def sort_expression(path: AttrPath, fields: FieldMap, dialect: Dialect) -> peewee.ColumnBase:
    """A Peewee ORDER BY key for ``sortBy`` (RFC 7644 §3.4.2.3); raise InvalidFilterError.

    Strings sort like they compare (case-insensitively unless caseExact, by code point).
    A JSON multi-valued attribute sorts by its primary element's value (or the sub-attribute
    named in the path), else the first element's. Attributes stored in related tables and
    complex attributes cannot be sort keys. Resources without a value sort last with
    ``.asc()`` and first with ``.desc()`` on both databases, as RFC 7644 §3.4.2.3 asks
    (SQLite's own default is the opposite).
    """
    translator = _Translator(fields, dialect)
    return _SortKey(translator.sort_key(path), translator.sort_nullable(path))


# --- values -------------------------------------------------------------------------------

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_DATETIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})?"
)
_SQL_OPS = {"eq": "=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_INT64 = 2**63 - 1


def _name(path: AttrPath) -> str:
    text = f"{path.attr}.{path.sub_attr}" if path.sub_attr else path.attr
    return f"{path.uri}:{text}" if path.uri else text


def _ascii_lower(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def _like_pattern(value: str, prefix: str, suffix: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{prefix}{escaped}{suffix}"


def _string_value(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidFilterError(f"'{name}' is a string attribute: compare it with a string")
    return value


def _boolean_value(value: object, name: str) -> bool:
    if isinstance(value, bool):
        return value
    # Microsoft Entra ID sends `active eq "True"`; tolerate exactly the two spellings.
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidFilterError(f"'{name}' is a boolean attribute: compare it with true or false")


def _number_value(value: object, name: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidFilterError(f"'{name}' is a numeric attribute: compare it with a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidFilterError(f"'{name}': {value} is not a finite number")
    if isinstance(value, int) and abs(value) > _INT64:
        raise InvalidFilterError(f"'{name}': {value} is out of range")
    return value


def _datetime_value(value: object, name: str) -> dt.datetime:
    """Parse an RFC 3339 / xsd:dateTime filter value into a naive UTC datetime."""
    match = _DATETIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidFilterError(
            f"'{name}' is a dateTime attribute: compare it with an ISO 8601 timestamp"
            " such as 2011-05-13T04:42:34Z"
        )
    date, time, fraction, offset = match.groups()
    text = f"{date}T{time}"
    if fraction:
        text += "." + fraction[:6].ljust(6, "0")  # Python keeps microseconds at most
    if offset and offset not in ("Z", "z"):
        text += offset
    try:
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as exc:
        raise InvalidFilterError(f"'{name}': {value!r} is not a valid dateTime") from exc
    return parsed


def _json_datetime_key(moment: dt.datetime) -> str:
    # Canonical UTC text, then the same rtrim('.0Z') the SQL applies to stored values.
    return (moment.isoformat() + "Z").rstrip(".0Z")


# --- SQL building blocks --------------------------------------------------------------------

FALSE = SQL("FALSE")
TRUE = SQL("TRUE")


def _and(lhs: Any, rhs: Any) -> Any:
    return Expression(lhs, "AND", rhs)


def _not(node: Any) -> Any:
    return peewee.Negated(NodeList((node,), parens=True))


def _coalesce(node: Any) -> Any:
    """NULL (missing key, NULL document, wrong JSON type) becomes FALSE."""
    return fn.COALESCE(node, FALSE)


def _param(value: object) -> Any:
    return Value(value, converter=False)


def _like(lhs: Any, pattern: str) -> Any:
    return NodeList((lhs, SQL("LIKE"), _param(pattern), SQL("ESCAPE '\\'")), parens=True)


def _sqlite_path(keys: tuple[str, ...]) -> str:
    # Same quoting as peewee's JSON helper: every key in double quotes, so URNs with ':' and
    # '.' ("urn:...:2.0:User") are one path step.
    parts = (k.replace("\\", "\\\\").replace('"', '\\"') for k in keys)
    return "".join(f'."{p}"' for p in parts)


def _pg_path(keys: tuple[str, ...]) -> Any:
    # Same as peewee's PostgresqlJSONMethods._path_array: the keys come from the server's
    # field map, never from the client, and a literal keeps expression indexes usable.
    parts = ",".join('"{}"'.format(k.replace("\\", "\\\\").replace('"', '\\"')) for k in keys)
    return SQL("'{" + parts.replace("'", "''") + "}'::text[]")


class _Loc(Protocol):
    """A JSON value inside a document; every accessor may be SQL NULL when it is missing."""

    def child(self, key: str) -> _Loc: ...
    def is_string(self) -> Any: ...
    def is_number(self) -> Any: ...
    def text(self) -> Any: ...
    def number(self) -> Any: ...
    def compare_number(self, op: str, value: int | float) -> Any: ...
    def is_boolean(self, value: bool) -> Any: ...
    def present(self) -> Any: ...
    def nonempty_array(self) -> Any: ...
    def any_element(self, alias: str, build: Callable[[_Loc], Any]) -> Any: ...
    def first_element(self, alias: str, key: Callable[[_Loc], Any], primary: str | None) -> Any:
        """A scalar subquery: ``key`` of the element whose ``primary`` is true, else the first."""
        ...


@dataclass(frozen=True)
class _SqliteLoc:
    """``json_type``/``json_extract`` of ``root`` at ``$<base>[<index>]<keys>``."""

    root: Any
    base: str = "$"
    index: Any = None  # SQL integer expression: the element index inside ``base``
    keys: tuple[str, ...] = ()

    def child(self, key: str) -> _Loc:
        return _SqliteLoc(self.root, self.base, self.index, (*self.keys, key))

    def _path(self) -> Any:
        if self.index is None:
            return _param(self.base + _sqlite_path(self.keys))
        # json_each() elements are addressed through the document: a json_each `value` that
        # is a plain string is not JSON text, and json_extract() on it would raise.
        head = _param(self.base + "[").concat(self.index)
        return head.concat(_param("]" + _sqlite_path(self.keys)))

    def _type(self) -> Any:
        return fn.json_type(self.root, self._path())

    def is_string(self) -> Any:
        return self._type() == SQL("'text'")

    def is_number(self) -> Any:
        return self._type().in_([SQL("'integer'"), SQL("'real'")])

    def text(self) -> Any:
        return fn.json_extract(self.root, self._path())

    def number(self) -> Any:
        return fn.json_extract(self.root, self._path())

    def compare_number(self, op: str, value: int | float) -> Any:
        return Expression(self.number(), op, _param(value))

    def is_boolean(self, value: bool) -> Any:
        return self._type() == SQL("'true'" if value else "'false'")

    def present(self) -> Any:
        # `->` yields the value as minified JSON text, so one comparison catches all four.
        as_json = Expression(self.root, "->", self._path())
        return as_json.not_in([SQL("'null'"), SQL("'\"\"'"), SQL("'[]'"), SQL("'{}'")])

    def nonempty_array(self) -> Any:
        # json_array_length() is 0 for a non-array and NULL for a missing path.
        return fn.json_array_length(self.root, self._path()) > 0

    def _elements(self, alias: str) -> tuple[Any, _Loc]:
        assert self.index is None, "nested multi-valued attributes are not supported"
        path = self._path()
        # json_each() would iterate an object's members or yield a scalar itself: only feed
        # it documents where the path holds an array.
        guarded = Case(None, [(fn.json_type(self.root, path) == SQL("'array'"), self.root)])
        source = NodeList((fn.json_each(guarded, path), SQL("AS"), Entity(alias)))
        base = self.base + _sqlite_path(self.keys)
        return source, _SqliteLoc(self.root, base, Entity(alias, "key"))

    def any_element(self, alias: str, build: Callable[[_Loc], Any]) -> Any:
        source, element = self._elements(alias)
        return fn.EXISTS(Select(from_list=[source], columns=[SQL("1")]).where(build(element)))

    def first_element(self, alias: str, key: Callable[[_Loc], Any], primary: str | None) -> Any:
        source, element = self._elements(alias)
        order = [Entity(alias, "key").asc()]
        if primary is not None:
            # SQLite cannot resolve outer columns (the document) in a subquery's ORDER BY, so
            # read the element's own JSON text, which json_each() gives for objects only.
            is_object = Entity(alias, "type") == SQL("'object'")
            own = _SqliteLoc(Case(None, [(is_object, Entity(alias, "value"))]))
            order.insert(0, _coalesce(own.child(primary).is_boolean(True)).desc())
        query = Select(from_list=[source], columns=[key(element)]).order_by(*order).limit(1)
        return NodeList((query,), parens=True)  # a scalar subquery, usable with .asc()


@dataclass(frozen=True)
class _PgLoc:
    """``root #> keys`` on a jsonb ``root``."""

    root: Any
    keys: tuple[str, ...] = ()

    def child(self, key: str) -> _Loc:
        return _PgLoc(self.root, (*self.keys, key))

    def _json(self) -> Any:
        return Expression(self.root, "#>", _pg_path(self.keys)) if self.keys else self.root

    def is_string(self) -> Any:
        return fn.jsonb_typeof(self._json()) == SQL("'string'")

    def is_number(self) -> Any:
        return fn.jsonb_typeof(self._json()) == SQL("'number'")

    def text(self) -> Any:
        return Expression(self.root, "#>>", _pg_path(self.keys) if self.keys else SQL("'{}'"))

    def number(self) -> Any:
        # Only ever evaluated under CASE WHEN is_number(): the cast would raise on "abc".
        return Case(None, [(self.is_number(), peewee.Cast(self.text(), "numeric"))])

    def compare_number(self, op: str, value: int | float) -> Any:
        # jsonb compares numbers numerically and never raises, unlike a cast to numeric that
        # Postgres might evaluate before the type check in an AND.
        return Expression(self._json(), op, peewee.Cast(_param(json.dumps(value)), "jsonb"))

    def is_boolean(self, value: bool) -> Any:
        return self._json() == SQL("'true'::jsonb" if value else "'false'::jsonb")

    def present(self) -> Any:
        empty = ["'null'::jsonb", "'\"\"'::jsonb", "'[]'::jsonb", "'{}'::jsonb"]
        return self._json().not_in([SQL(e) for e in empty])

    def nonempty_array(self) -> Any:
        array = fn.jsonb_typeof(self._json()) == SQL("'array'")
        return _and(array, self._json() != SQL("'[]'::jsonb"))

    def _elements(self, alias: str) -> tuple[Any, _Loc]:
        doc = self._json()
        # jsonb_array_elements() raises on a non-array; CASE (unlike AND) fixes the order.
        guarded = Case(None, [(fn.jsonb_typeof(doc) == SQL("'array'"), doc)], SQL("'[]'::jsonb"))
        source = NodeList(
            (
                fn.jsonb_array_elements(guarded),
                SQL("WITH ORDINALITY AS"),
                Entity(alias),
                SQL('("value", "idx")'),
            )
        )
        return source, _PgLoc(Entity(alias, "value"))

    def any_element(self, alias: str, build: Callable[[_Loc], Any]) -> Any:
        source, element = self._elements(alias)
        return fn.EXISTS(Select(from_list=[source], columns=[SQL("1")]).where(build(element)))

    def first_element(self, alias: str, key: Callable[[_Loc], Any], primary: str | None) -> Any:
        source, element = self._elements(alias)
        order = [Entity(alias, "idx").asc()]
        if primary is not None:
            order.insert(0, _coalesce(element.child(primary).is_boolean(True)).desc())
        query = Select(from_list=[source], columns=[key(element)]).order_by(*order).limit(1)
        return NodeList((query,), parens=True)  # a scalar subquery, usable with .asc()


def _root(column: peewee.JSONField, keys: tuple[str, ...], dialect: Dialect) -> _Loc:
    if dialect == "sqlite":
        return _SqliteLoc(column, "$", None, keys)
    return _PgLoc(column, keys)


# --- operands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    """A single value in a column (of the main table or of a related one)."""

    name: str
    attr: ColumnAttr


@dataclass(frozen=True)
class _Json:
    """A single value inside a JSON document."""

    name: str
    loc: _Loc
    type: str
    case_exact: bool


_Operand = _Column | _Json


class _Scope(Protocol):
    """One element of a multi-valued attribute: resolves its sub-attributes."""

    def operand(self, sub: str) -> _Operand: ...


@dataclass(frozen=True)
class _JsonElement:
    name: str
    attr: JsonMultiAttr
    loc: _Loc

    def operand(self, sub: str) -> _Operand:
        if not self.attr.sub_attributes:
            if sub != "value":  # RFC 7643 §2.4: a simple multi-valued element is its "value"
                raise InvalidFilterError(f"'{self.name}' has no sub-attribute '{sub}'")
            return _Json(self.name, self.loc, self.attr.type, self.attr.case_exact)
        spec = self.attr.sub_attributes.get(sub)
        if spec is None:
            raise InvalidFilterError(f"'{self.name}' has no sub-attribute '{sub}'")
        loc = self.loc.child(spec.name or sub)
        return _Json(f"{self.name}.{sub}", loc, spec.type, spec.case_exact)


@dataclass(frozen=True)
class _RelatedRow:
    name: str
    attr: RelatedAttr

    def operand(self, sub: str) -> _Operand:
        spec = self.attr.sub_attributes.get(sub)
        if spec is None:
            raise InvalidFilterError(f"'{self.name}' has no sub-attribute '{sub}'")
        return _Column(f"{self.name}.{sub}", spec)


def _nullable(column: Any) -> bool:
    return not (isinstance(column, peewee.Field) and column.null is False)


class _Translator:
    """One translation: the field map, the dialect and a counter for subquery aliases."""

    def __init__(self, fields: FieldMap, dialect: Dialect) -> None:
        if dialect not in ("sqlite", "postgres"):
            raise ValueError(f"unknown dialect {dialect!r}")
        self.fields = fields
        self.dialect: Dialect = dialect
        self._aliases: Iterator[int] = itertools.count(1)

    # -- lookup --

    def _alias(self) -> str:
        return f"scim_e{next(self._aliases)}"

    def _unqualified(self, path: AttrPath) -> AttrPath:
        if path.uri is not None and path.uri.lower() == self.fields.core_uri.lower():
            return AttrPath(None, path.attr, path.sub_attr)
        return path

    def _refuse_write_only(self, path: AttrPath) -> None:
        if self._unqualified(AttrPath(path.uri, path.attr)).key() in self.fields.write_only:
            raise InvalidFilterError(
                f"'{_name(path)}' is write-only (returned \"never\", not stored): it cannot be"
                " used in a filter or sortBy"
            )

    def _resolve(self, path: AttrPath) -> tuple[Attr, str | None]:
        """The mapped attribute and, for a multi-valued one, the lowercased sub-attribute."""
        self._refuse_write_only(path)
        path = self._unqualified(path)
        attr = self.fields.attrs.get(path.key())
        if attr is not None:
            return attr, None
        if path.sub_attr is not None:
            parent = self.fields.attrs.get(AttrPath(path.uri, path.attr).key())
            if isinstance(parent, JsonMultiAttr | RelatedAttr):
                return parent, path.sub_attr.lower()
        if self._children(path):
            raise InvalidFilterError(
                f"'{_name(path)}' is a complex attribute: filter on its sub-attributes"
            )
        raise InvalidFilterError(f"unknown attribute '{_name(path)}' in filter")

    def _children(self, path: AttrPath) -> list[AttrPath]:
        """Mapped sub-attributes of a single-valued complex attribute (``name.*``)."""
        path = self._unqualified(path)
        if path.sub_attr is not None:
            return []
        prefix = path.key() + "."
        names = [k[len(prefix) :] for k in self.fields.attrs if k.startswith(prefix)]
        return [AttrPath(path.uri, path.attr, n) for n in names if "." not in n]

    def _operand(self, path: AttrPath, attr: ColumnAttr | JsonAttr) -> _Operand:
        if isinstance(attr, ColumnAttr):
            return _Column(_name(path), attr)
        return _Json(
            _name(path), _root(attr.column, attr.keys, self.dialect), attr.type, attr.case_exact
        )

    def _any(
        self, path: AttrPath, attr: JsonMultiAttr | RelatedAttr, build: Callable[[_Scope], Any]
    ) -> Any:
        """Some element of a multi-valued attribute satisfies ``build``."""
        name = _name(self._unqualified(AttrPath(path.uri, path.attr)))
        if isinstance(attr, RelatedAttr):
            return fn.EXISTS(attr.base().where(build(_RelatedRow(name, attr))))
        root = _root(attr.column, attr.keys, self.dialect)
        return root.any_element(self._alias(), lambda loc: build(_JsonElement(name, attr, loc)))

    # -- filters --

    def filter(self, flt: Filter, scope: _Scope | None) -> Any:
        """Translate ``flt``; inside ``attr[...]`` paths resolve against ``scope``."""
        if isinstance(flt, And | Or):
            # One flat `(a OR b OR c ...)` per chain: nesting a pair of parentheses per
            # operator overflows SQLite's parser stack at about 80 operators.
            terms = [self.filter(term, scope) for term in _chain(flt, type(flt))]
            return NodeList(
                _interleave(terms, SQL("AND" if isinstance(flt, And) else "OR")), parens=True
            )
        if isinstance(flt, Not):
            return _not(self.filter(flt.expr, scope))
        if isinstance(flt, Compare):
            return self.compare(flt.path, flt.op, flt.value, scope)
        if isinstance(flt, Present):
            return self.present(flt.path, scope)
        if isinstance(flt, ValuePath):
            if scope is not None:
                raise InvalidFilterError("value filters ('attr[...]') cannot be nested")
            return self.value_path(flt.path, flt.filter)
        raise InvalidFilterError(f"unsupported filter node {type(flt).__name__}")

    def _inner(self, path: AttrPath, scope: _Scope) -> _Operand:
        # RFC 7644 §3.4.2.2: inside brackets, paths are sub-attributes of one element.
        if path.uri is not None or path.sub_attr is not None:
            raise InvalidFilterError(
                f"'{_name(path)}' inside a value filter must be a plain sub-attribute name"
            )
        return scope.operand(path.attr.lower())

    def value_path(self, path: AttrPath, inner: Filter) -> Any:
        """``attr[inner]``: one element of ``attr`` satisfies all of ``inner``."""
        self._refuse_write_only(path)
        unqualified = self._unqualified(path)
        if path.sub_attr is not None:
            raise InvalidFilterError(f"'{_name(path)}[...]': brackets follow an attribute name")
        attr = self.fields.attrs.get(unqualified.key())
        if isinstance(attr, JsonMultiAttr | RelatedAttr):
            return self._any(path, attr, lambda scope: self.filter(inner, scope))
        if attr is None and self._children(unqualified):
            # A single-valued complex attribute: name[givenName eq "x"] is name.givenName eq "x".
            return self.filter(_reroot(inner, unqualified), None)
        if attr is None:
            raise InvalidFilterError(f"unknown attribute '{_name(path)}' in filter")
        raise InvalidFilterError(f"'{_name(path)}' is not multi-valued: '[...]' needs one")

    def present(self, path: AttrPath, scope: _Scope | None) -> Any:
        """``path pr``."""
        if scope is not None:
            return self._present(self._inner(path, scope))
        children = None if self._is_mapped(path) else self._children(path)
        if children:
            # A complex attribute is present when any of its mapped sub-attributes is.
            terms = [self.present(child, None) for child in children]
            return NodeList(_interleave(terms, SQL("OR")), parens=True)
        attr, sub = self._resolve(path)
        if isinstance(attr, RelatedAttr):
            if sub is None:
                return fn.EXISTS(attr.base())
            return self._any(path, attr, lambda s: self._present(s.operand(sub)))
        if isinstance(attr, JsonMultiAttr):
            if sub is None:
                root = _root(attr.column, attr.keys, self.dialect)
                return _coalesce(root.nonempty_array())
            return self._any(path, attr, lambda s: self._present(s.operand(sub)))
        return self._present(self._operand(path, attr))

    def _is_mapped(self, path: AttrPath) -> bool:
        return self._unqualified(path).key() in self.fields.attrs

    def compare(self, path: AttrPath, op: str, value: object, scope: _Scope | None) -> Any:
        """``path op value``."""
        op = op.lower()
        if op not in COMPARISON_OPERATORS:
            raise InvalidFilterError(f"unknown comparison operator '{op}'")
        if value is None:
            # RFC 7644 §3.4.2.2 gives null no meaning beyond presence.
            if op == "eq":
                return _not(self.present(path, scope))
            if op == "ne":
                return self.present(path, scope)
            raise InvalidFilterError(f"'{op}' cannot compare with null")
        if op == "ne":
            return _not(self.compare(path, "eq", value, scope))
        if scope is not None:
            return self._compare(self._inner(path, scope), op, value)
        attr, sub = self._resolve(path)
        if isinstance(attr, JsonMultiAttr | RelatedAttr):
            name = sub or "value"  # RFC 7643 §2.4: `emails co "x"` compares emails.value
            return self._any(path, attr, lambda s: self._compare(s.operand(name), op, value))
        return self._compare(self._operand(path, attr), op, value)

    # -- leaves --

    def _present(self, operand: _Operand) -> Any:
        if isinstance(operand, _Json):
            return _coalesce(operand.loc.present())
        column = operand.attr.column
        if operand.attr.type in STRING_TYPES:
            nonempty = Expression(column, "!=", _param(""))
            return _and(column.is_null(False), nonempty) if _nullable(column) else nonempty
        return column.is_null(False)

    def _compare(self, operand: _Operand, op: str, value: object) -> Any:
        kind = operand.attr.type if isinstance(operand, _Column) else operand.type
        if kind not in SCALAR_TYPES:
            raise InvalidFilterError(f"'{operand.name}' is a complex attribute: no '{op}'")
        if op in ("co", "sw", "ew") and kind not in ("string", "reference"):
            raise InvalidFilterError(f"'{op}' needs a string attribute; '{operand.name}' is {kind}")
        if op in ("gt", "ge", "lt", "le") and kind in ("boolean", "binary"):
            # RFC 7644 §3.4.2.2: gt/ge/lt/le on boolean or binary "SHALL fail".
            raise InvalidFilterError(f"'{op}' cannot compare {kind} attribute '{operand.name}'")
        if kind in STRING_TYPES:
            return self._compare_string(operand, op, _string_value(value, operand.name))
        if kind == "boolean":
            flag = _boolean_value(value, operand.name)
            if isinstance(operand, _Json):
                return _coalesce(operand.loc.is_boolean(flag))
            return self._guard(operand, Expression(operand.attr.column, "=", flag))
        if kind == "dateTime":
            moment = _datetime_value(value, operand.name)
            if isinstance(operand, _Json):
                key = fn.rtrim(operand.loc.text(), _param(".0Z"))
                cmp = Expression(key, _SQL_OPS[op], _param(_json_datetime_key(moment)))
                return _coalesce(_and(operand.loc.is_string(), cmp))
            # Through the column's converter: bound exactly like the stored values.
            return self._guard(operand, Expression(operand.attr.column, _SQL_OPS[op], moment))
        number = _number_value(value, operand.name)
        if isinstance(operand, _Json):
            cmp = operand.loc.compare_number(_SQL_OPS[op], number)
            return _coalesce(_and(operand.loc.is_number(), cmp))
        return self._guard(operand, Expression(operand.attr.column, _SQL_OPS[op], _param(number)))

    def _guard(self, operand: _Column, cmp: Any) -> Any:
        # `col IS NOT NULL AND ...` (not COALESCE) so the comparison can still use an index.
        column = operand.attr.column
        return _and(column.is_null(False), cmp) if _nullable(column) else cmp

    def _compare_string(self, operand: _Operand, op: str, value: str) -> Any:
        if isinstance(operand, _Json):
            text, kind, folded = operand.loc.text(), operand.type, False
            case_exact = operand.case_exact
        else:
            spec = operand.attr
            text, kind, case_exact, folded = spec.column, spec.type, spec.case_exact, spec.folded
        # RFC 7643 §2.3.6: binary values are case-exact.
        case_exact = case_exact or kind == "binary"
        if folded:  # the column holds casefold(): so must the value, and nothing else
            lhs, value, case_exact = text, value.casefold(), False
        elif case_exact:
            lhs = text
        else:
            lhs, value = self._lower(text), _ascii_lower(value)

        cmp: Any
        if op == "eq":
            cmp = Expression(lhs, "=", _param(value))
        elif op in ("gt", "ge", "lt", "le"):
            cmp = Expression(self._binary_order(lhs), _SQL_OPS[op], _param(value))
        elif value == "":
            cmp = TRUE  # every string contains, starts and ends with ""
        elif case_exact:
            cmp = self._exact_substring(lhs, op, value)
        else:
            prefix, suffix = {"co": ("%", "%"), "sw": ("", "%"), "ew": ("%", "")}[op]
            cmp = _like(lhs, _like_pattern(value, prefix, suffix))

        if isinstance(operand, _Json):
            return _coalesce(_and(operand.loc.is_string(), cmp))
        return self._guard(operand, cmp)

    def _lower(self, text: Any) -> Any:
        # ASCII-only on both: SQLite's lower() never folds beyond ASCII, and Postgres'
        # lower() follows the database's LC_CTYPE unless the operand is in the "C" collation.
        if self.dialect == "postgres":
            return fn.lower(text.collate('"C"'))
        return fn.lower(text)

    def _binary_order(self, text: Any) -> Any:
        # Code-point order: SQLite's BINARY collation compares UTF-8 bytes, which Postgres
        # only does in the "C" collation (the database default may be linguistic).
        return text.collate('"C"') if self.dialect == "postgres" else text

    def _exact_substring(self, text: Any, op: str, value: str) -> Any:
        # Case-exact co/sw/ew without LIKE: SQLite's LIKE ignores ASCII case.
        if self.dialect == "postgres":
            if op == "co":
                return fn.strpos(text, _param(value)) > 0
            func = fn.left if op == "sw" else fn.right
            return Expression(func(text, _param(len(value))), "=", _param(value))
        if op == "co":
            return fn.instr(text, _param(value)) > 0
        if op == "sw":
            return Expression(fn.substr(text, 1, _param(len(value))), "=", _param(value))
        return Expression(fn.substr(text, _param(-len(value))), "=", _param(value))

    # -- sorting --

    def sort_key(self, path: AttrPath) -> Any:
        """The ORDER BY key for ``sortBy=path``."""
        attr, sub = self._resolve(path)
        if isinstance(attr, RelatedAttr):
            raise InvalidFilterError(f"cannot sort by '{_name(path)}'")
        if isinstance(attr, JsonMultiAttr):
            name = _name(self._unqualified(AttrPath(path.uri, path.attr)))
            root = _root(attr.column, attr.keys, self.dialect)

            def key(loc: _Loc) -> Any:
                return self._sort_operand(_JsonElement(name, attr, loc).operand(sub or "value"))

            spec = attr.sub_attributes.get("primary")
            primary = (spec.name or "primary") if spec and spec.type == "boolean" else None
            return root.first_element(self._alias(), key, primary)
        return self._sort_operand(self._operand(path, attr))

    def sort_nullable(self, path: AttrPath) -> bool:
        """Whether the sort key can be NULL (only a NOT NULL column cannot)."""
        attr, _ = self._resolve(path)
        return not isinstance(attr, ColumnAttr) or _nullable(attr.column)

    def _sort_operand(self, operand: _Operand) -> Any:
        kind = operand.attr.type if isinstance(operand, _Column) else operand.type
        if kind not in SCALAR_TYPES:
            raise InvalidFilterError(f"cannot sort by complex attribute '{operand.name}'")
        if isinstance(operand, _Column):
            column, attr = operand.attr.column, operand.attr
            if kind not in STRING_TYPES or attr.folded or attr.case_exact or kind == "binary":
                return self._binary_order(column) if kind in STRING_TYPES else column
            return self._binary_order(self._lower(column))
        loc = operand.loc
        if kind in STRING_TYPES:
            text = loc.text() if operand.case_exact or kind == "binary" else self._lower(loc.text())
            return self._binary_order(Case(None, [(loc.is_string(), text)]))
        if kind == "dateTime":
            key = fn.rtrim(loc.text(), _param(".0Z"))
            return self._binary_order(Case(None, [(loc.is_string(), key)]))
        if kind == "boolean":
            return Case(
                None, [(_coalesce(loc.is_boolean(True)), 1), (_coalesce(loc.is_boolean(False)), 0)]
            )
        return Case(None, [(loc.is_number(), loc.number())])


class _SortKey(peewee.WrappedNode):
    """An ORDER BY key whose ``asc()``/``desc()`` put missing values where SCIM wants them."""

    def __init__(self, node: Any, nullable: bool) -> None:
        super().__init__(node)
        self.nullable = nullable

    def asc(self, collation: str | None = None, nulls: str | None = None) -> Any:
        """Ascending; missing values last."""
        return super().asc(collation, nulls or ("last" if self.nullable else None))

    def desc(self, collation: str | None = None, nulls: str | None = None) -> Any:
        """Descending; missing values first."""
        return super().desc(collation, nulls or ("first" if self.nullable else None))

    def __sql__(self, ctx: Any) -> Any:
        return ctx.sql(self.node)


def _chain(flt: Filter, kind: type) -> list[Filter]:
    """The operands of a run of one operator (``a or b or c``), in order, without recursion."""
    terms: list[Filter] = []
    pending = [flt]
    while pending:
        node = pending.pop()
        if isinstance(node, kind) and isinstance(node, And | Or):
            pending += [node.right, node.left]
        else:
            terms.append(node)
    return terms


def _interleave(nodes: list[Any], glue: Any) -> list[Any]:
    out: list[Any] = []
    for node in nodes:
        if out:
            out.append(glue)
        out.append(node)
    return out


def _reroot(flt: Filter, parent: AttrPath) -> Filter:
    """Rewrite ``name[givenName eq "x"]``'s inner filter as ``name.givenName eq "x"``."""

    def path(p: AttrPath) -> AttrPath:
        if p.uri is not None or p.sub_attr is not None:
            raise InvalidFilterError(
                f"'{_name(p)}' inside a value filter must be a plain sub-attribute name"
            )
        return AttrPath(parent.uri, parent.attr, p.attr)

    if isinstance(flt, Compare):
        return Compare(path(flt.path), flt.op, flt.value)
    if isinstance(flt, Present):
        return Present(path(flt.path))
    if isinstance(flt, And):
        return And(_reroot(flt.left, parent), _reroot(flt.right, parent))
    if isinstance(flt, Or):
        return Or(_reroot(flt.left, parent), _reroot(flt.right, parent))
    if isinstance(flt, Not):
        return Not(_reroot(flt.expr, parent))
    raise InvalidFilterError("value filters ('attr[...]') cannot be nested")
