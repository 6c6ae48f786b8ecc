"""Request/response validation against Discord's own OpenAPI description, plus the rules it omits.

Why this exists: a fake that accepts anything proves nothing. Every JSON body the bot sends is
checked against the operation's ``requestBody`` schema in ``tests/fixtures/discord-api-spec/openapi.json``
(OpenAPI 3.1, i.e. JSON Schema 2020-12), and answered the way Discord answers an invalid body:
``400 {"code": 50035, "message": "Invalid Form Body", "errors": {...}}`` with Discord's nested
``_errors`` layout (which discord.py flattens into ``HTTPException.text``).

The spec file is 1.2 MB; it is parsed once per process (``load_spec`` is cached) and one validator is
built per operation on first use.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker  # type: ignore[import-untyped,unused-ignore]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped,unused-ignore]
from referencing import Registry
from referencing.jsonschema import DRAFT202012

#: The pinned copy shipped with the tests (provenance and licence beside it).
SPEC_PATH: Path = Path(__file__).resolve().parents[1] / "fixtures" / "discord-api-spec" / "openapi.json"
_SPEC_URI = "urn:discord-openapi"

#: Limits from Discord's documentation that the OpenAPI file does not encode.
EMBED_TOTAL_LIMIT = 6000
BOT_CONTENT_LIMIT = 2000  # the spec says 4000 for MessageCreateRequest (Nitro users); bots get 2000
COMMAND_TOTAL_CHARS_LIMIT = 4000

try:  # the exact rule needs the third-party ``regex`` module (\p{sc=...}); fall back if absent
    import regex as _regex  # type: ignore[import-not-found,import-untyped,unused-ignore]

    _NAME_RE: Any = _regex.compile(r"^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$")
except ImportError:  # pragma: no cover - depends on the environment
    _NAME_RE = None


@dataclass(frozen=True)
class FieldError:
    """One problem with one field, in Discord's vocabulary (``code``/``message``) plus our detail."""

    path: tuple[str | int, ...]
    code: str
    message: str
    detail: str = ""

    def dotted(self) -> str:
        return ".".join(str(p) for p in self.path) or "<body>"


# --------------------------------------------------------------------------------------------------
# Spec loading and route matching
# --------------------------------------------------------------------------------------------------


#: Where the spec is stricter than Discord really is ("where they disagree, the docs win").
#: Each entry: (schema name, replacement, why). Applied in memory; the fixture file is never touched.
SPEC_OVERRIDES: list[tuple[str, dict[str, Any], str]] = [
    (
        "SnowflakeType",
        {
            "anyOf": [
                {"type": "string", "pattern": "^(0|[1-9][0-9]*)$", "format": "snowflake"},
                {"type": "integer", "minimum": 0, "maximum": 2**64 - 1},
            ]
        },
        "Discord parses integer snowflakes in request bodies; discord.py sends ints for attachment ids "
        "(File.to_dict), allowed_mentions users/roles and message_reference ids.",
    ),
]


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """Parse the OpenAPI file once per process and apply ``SPEC_OVERRIDES``."""
    with SPEC_PATH.open(encoding="utf-8") as fh:
        doc: dict[str, Any] = json.load(fh)
    for name, replacement, _why in SPEC_OVERRIDES:
        doc["components"]["schemas"][name] = replacement
    return doc


@functools.lru_cache(maxsize=1)
def _registry() -> Registry[Any]:
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, DRAFT202012.create_resource(load_spec()))
    return registry


def _pointer(*parts: str) -> str:
    return "/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


@dataclass(frozen=True)
class Operation:
    """A (method, path template) pair known to the spec."""

    method: str
    template: str
    operation_id: str
    has_body: bool


class RouteTable:
    """Maps a concrete API path (``/channels/123/messages``) to the spec's template and operation."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self._routes: list[tuple[re.Pattern[str], str, dict[str, Any]]] = []
        for template, item in spec["paths"].items():
            parts = []
            for seg in template.split("/"):
                m = re.fullmatch(r"\{([a-z_]+)\}", seg)
                parts.append(f"(?P<{m.group(1)}>[^/]+)" if m else re.escape(seg))
            regex = "^" + "/".join(parts) + "$"
            self._routes.append((re.compile(regex), template, item))
        # Literal segments must win over parameters (``messages/@original`` vs ``messages/{message_id}``).
        self._routes.sort(key=lambda r: (r[1].count("{"), -len(r[1])))

    def match(self, path: str) -> tuple[str, dict[str, str], dict[str, Any]] | None:
        """Return (template, path params, path item) or None when the spec has no such path."""
        for regex, template, item in self._routes:
            m = regex.match(path)
            if m:
                return template, m.groupdict(), item
        return None


@functools.lru_cache(maxsize=1)
def route_table() -> RouteTable:
    return RouteTable(load_spec())


# --------------------------------------------------------------------------------------------------
# Format checking: jsonschema only asserts formats it has libraries for; Discord rejects bad URLs.
# --------------------------------------------------------------------------------------------------

_format_checker = FormatChecker(formats=())


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if parts.scheme == "attachment":
        return bool(parts.netloc or parts.path)
    # Discord accepts http(s) for embed/button URLs; ws(s) appears in its own gateway responses.
    return parts.scheme in {"http", "https", "ws", "wss"} and bool(parts.netloc)


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -(2**31) <= value < 2**31


def _is_int64(value: object) -> bool:
    return not isinstance(value, int) or isinstance(value, bool) or -(2**63) <= value < 2**63


for _fmt, _check in (("uri", _is_uri), ("date-time", _is_datetime), ("int32", _is_int32), ("int64", _is_int64)):
    _format_checker.checks(_fmt)(_check)


def _validator_for(pointer: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{_SPEC_URI}#{pointer}"}, registry=_registry(), format_checker=_format_checker
    )


@functools.cache
def request_validator(template: str, method: str) -> Draft202012Validator | None:
    """The validator for an operation's JSON request body (multipart ``payload_json`` uses the same)."""
    op = load_spec()["paths"].get(template, {}).get(method.lower())
    if not op or "requestBody" not in op:
        return None
    content = op["requestBody"].get("content", {})
    if "application/json" not in content:
        return None
    return _validator_for(
        _pointer("paths", template, method.lower(), "requestBody", "content", "application/json", "schema")
    )


@functools.cache
def response_validator(template: str, method: str, status: int) -> Draft202012Validator | None:
    """The validator for the fake's own success responses (a self-check of the fake's fidelity)."""
    op = load_spec()["paths"].get(template, {}).get(method.lower())
    if not op:
        return None
    resp = op.get("responses", {}).get(str(status))
    if not resp or "application/json" not in resp.get("content", {}):
        return None
    return _validator_for(
        _pointer("paths", template, method.lower(), "responses", str(status), "content", "application/json", "schema")
    )


@functools.cache
def component_validator(schema_name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<schema_name>`` (used by tests and self-checks)."""
    load_spec()["components"]["schemas"][schema_name]  # KeyError early if misspelt
    return _validator_for(_pointer("components", "schemas", schema_name))


def operation_for(template: str, method: str) -> Operation | None:
    op = load_spec()["paths"].get(template, {}).get(method.lower())
    if op is None:
        return None
    return Operation(method.upper(), template, op.get("operationId", ""), "requestBody" in op)


# --------------------------------------------------------------------------------------------------
# Turning jsonschema errors into Discord's error vocabulary
# --------------------------------------------------------------------------------------------------


def _is_discriminator_miss(err: ValidationError) -> bool:
    """True when a union branch failed only because it is the wrong *kind* of thing.

    Discord's unions are discriminated by a ``type`` field (or by being null vs object), so a branch
    that fails on ``type`` tells us nothing useful; the branch that got further is the one the
    sender meant, and its errors are the ones to report.
    """
    rel = list(err.relative_path)
    if not rel and err.validator == "type":
        return True
    if rel == ["type"] and err.validator in {"enum", "const", "type"}:
        return True
    return bool(not rel and err.validator in {"enum", "const"})


def _leaf_errors(err: ValidationError) -> Iterator[ValidationError]:
    if err.validator in {"anyOf", "oneOf"} and err.context:
        branches: dict[int, list[ValidationError]] = {}
        for sub in err.context:
            branches.setdefault(int(sub.schema_path[0]), []).append(sub)
        candidates = [errs for errs in branches.values() if not any(_is_discriminator_miss(e) for e in errs)]
        if candidates:
            best = min(candidates, key=len)
            for sub in best:
                yield from _leaf_errors(sub)
            return
        # every branch rejected the discriminator: report the discriminator itself
        type_errs = [
            e
            for errs in branches.values()
            for e in errs
            if list(e.relative_path) == ["type"] and e.validator in {"enum", "const"}
        ]
        if type_errs:
            allowed: list[Any] = []
            for e in type_errs:
                for value in e.validator_value if isinstance(e.validator_value, list) else [e.validator_value]:
                    if value not in allowed:
                        allowed.append(value)
            yield ValidationError(
                f"{type_errs[0].instance!r} is not one of {allowed}",
                validator="enum",
                validator_value=allowed,
                instance=type_errs[0].instance,
                path=[*list(err.absolute_path), "type"],
            )
            return
        yield err
        return
    if err.validator == "allOf" and err.context:
        for sub in err.context:
            yield from _leaf_errors(sub)
        return
    yield err


def _discordify(err: ValidationError) -> FieldError:
    path: tuple[str | int, ...] = tuple(err.absolute_path)
    v, val = err.validator, err.validator_value
    detail = err.message if len(err.message) < 300 else err.message[:297] + "..."
    if v == "maxLength" or v == "maxItems" or v == "maxProperties":
        return FieldError(path, "BASE_TYPE_MAX_LENGTH", f"Must be {val} or fewer in length.", detail)
    if v == "minLength" or v == "minItems":
        return FieldError(path, "BASE_TYPE_MIN_LENGTH", f"Must be {val} or more in length.", detail)
    if v == "required":
        missing = re.match(r"'(.+)' is a required property", err.message)
        name = missing.group(1) if missing else "?"
        return FieldError((*path, name), "BASE_TYPE_REQUIRED", "This field is required", detail)
    if v in {"enum", "const"}:
        choices = val if isinstance(val, list) else [val]
        return FieldError(path, "BASE_TYPE_CHOICES", f"Value must be one of {tuple(choices)}.", detail)
    if v == "pattern":
        return FieldError(path, "STRING_TYPE_REGEX", "String value did not match validation regex.", detail)
    if v == "minimum":
        return FieldError(path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {val}.", detail)
    if v == "maximum":
        return FieldError(path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {val}.", detail)
    if v == "uniqueItems":
        return FieldError(path, "LIST_ITEM_VALUE_DUPLICATE", "List items must be unique.", detail)
    if v == "format":
        if val == "uri":
            return FieldError(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.", detail)
        if val == "date-time":
            return FieldError(path, "DATE_TYPE_PARSE", f"Could not parse {err.instance}. Should be ISO8601.", detail)
        return FieldError(path, "NUMBER_TYPE_COERCE", f'Value "{err.instance}" is not {val}.', detail)
    if v == "type":
        wanted = val if isinstance(val, str) else next((t for t in val if t != "null"), "value")
        code, msg = {
            "string": ("STRING_TYPE_CONVERT", f'Could not interpret "{err.instance}" as string.'),
            "integer": ("NUMBER_TYPE_COERCE", f'Value "{err.instance}" is not int.'),
            "number": ("NUMBER_TYPE_COERCE", f'Value "{err.instance}" is not a valid number.'),
            "boolean": ("BOOLEAN_TYPE_COERCE", f'Value "{err.instance}" is not bool.'),
            "array": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType"),
            "object": ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"),
        }.get(wanted, ("BASE_TYPE_INVALID", f"Invalid {wanted}."))
        return FieldError(path, code, msg, detail)
    return FieldError(path, "BASE_TYPE_INVALID", "Invalid Form Body", detail)


def schema_errors(validator: Draft202012Validator, body: Any) -> list[FieldError]:
    """All schema violations of ``body``, resolved through unions to the branch the sender meant."""
    out: list[FieldError] = []
    for err in validator.iter_errors(body):
        for leaf in _leaf_errors(err):
            out.append(_discordify(leaf))
    # stable, de-duplicated
    seen: set[tuple[Any, ...]] = set()
    uniq = []
    for fe in out:
        key = (fe.path, fe.code)
        if key not in seen:
            seen.add(key)
            uniq.append(fe)
    return uniq


def errors_to_discord(errors: Iterable[FieldError]) -> dict[str, Any]:
    """Nest field errors the way Discord does: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``."""
    root: dict[str, Any] = {}
    for fe in errors:
        node = root
        for part in fe.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": fe.code, "message": fe.message})
    return root


# --------------------------------------------------------------------------------------------------
# Rules Discord enforces that the spec does not state
# --------------------------------------------------------------------------------------------------


def _embed_chars(embed: Mapping[str, Any]) -> int:
    total = 0
    for key in ("title", "description"):
        if isinstance(embed.get(key), str):
            total += len(embed[key])
    for field in embed.get("fields") or []:
        if isinstance(field, Mapping):
            total += len(field.get("name") or "") + len(field.get("value") or "")
    footer = embed.get("footer")
    if isinstance(footer, Mapping):
        total += len(footer.get("text") or "")
    author = embed.get("author")
    if isinstance(author, Mapping):
        total += len(author.get("name") or "")
    return total


def embed_total_chars(embeds: Any) -> int:
    """Characters counted towards Discord's 6000-per-message embed limit (all embeds together)."""
    if not isinstance(embeds, list):
        return 0
    return sum(_embed_chars(e) for e in embeds if isinstance(e, Mapping))


def message_rules(
    body: Mapping[str, Any] | None,
    prefix: tuple[str | int, ...] = (),
    *,
    require_content: bool = True,
    has_files: bool = False,
) -> list[FieldError]:
    """Embed-total, bot content length and empty-message rules for anything that makes a message."""
    if not isinstance(body, Mapping):
        return []
    errs: list[FieldError] = []
    total = embed_total_chars(body.get("embeds"))
    if total > EMBED_TOTAL_LIMIT:
        errs.append(
            FieldError(
                (*prefix, "embeds"),
                "MAX_EMBED_SIZE_EXCEEDED",
                f"Embed size exceeds maximum size of {EMBED_TOTAL_LIMIT}",
                f"embeds total {total} characters > {EMBED_TOTAL_LIMIT}",
            )
        )
    content = body.get("content")
    if isinstance(content, str) and len(content) > BOT_CONTENT_LIMIT:
        errs.append(
            FieldError(
                (*prefix, "content"),
                "BASE_TYPE_MAX_LENGTH",
                f"Must be {BOT_CONTENT_LIMIT} or fewer in length.",
                f"content has {len(content)} characters",
            )
        )
    if require_content and not has_files:
        flags = body.get("flags") or 0
        components_v2 = bool(isinstance(flags, int) and flags & (1 << 15))
        if not (
            (isinstance(content, str) and content.strip())
            or body.get("embeds")
            or body.get("components")
            or body.get("sticker_ids")
            or body.get("poll")
            or body.get("attachments")
            or components_v2
        ):
            errs.append(FieldError(prefix, "EMPTY_MESSAGE", "Cannot send an empty message", "code 50006"))
    return errs


def _char_ok(ch: str) -> bool:
    if ch in "-_'":
        return True
    cat = unicodedata.category(ch)
    if cat[0] in "LN":
        return True
    cp = ord(ch)
    # \p{sc=Deva} and \p{sc=Thai} (script blocks, including their combining marks)
    return 0x0900 <= cp <= 0x097F or 0xA8E0 <= cp <= 0xA8FF or 0x11B00 <= cp <= 0x11B5F or 0x0E00 <= cp <= 0x0E7F


def valid_chat_input_name(name: str) -> bool:
    """Discord's ``^[-_'\\p{L}\\p{N}\\p{sc=Deva}\\p{sc=Thai}]{1,32}$``, lower case where possible."""
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        return False
    ok = bool(_NAME_RE.match(name)) if _NAME_RE is not None else all(_char_ok(c) for c in name)
    return ok and name == name.lower()


def _command_chars(cmd: Mapping[str, Any]) -> int:
    total = len(cmd.get("name") or "") + len(cmd.get("description") or "")
    for opt in cmd.get("options") or []:
        if isinstance(opt, Mapping):
            total += _command_chars(opt)
            for choice in opt.get("choices") or []:
                if isinstance(choice, Mapping):
                    total += len(str(choice.get("name", ""))) + len(str(choice.get("value", "")))
    return total


def _option_rules(options: Any, prefix: tuple[str | int, ...]) -> list[FieldError]:
    errs: list[FieldError] = []
    if not isinstance(options, list):
        return errs
    seen: set[str] = set()
    optional_seen = False
    for i, opt in enumerate(options):
        if not isinstance(opt, Mapping):
            continue
        here = (*prefix, "options", i)
        name = opt.get("name")
        if isinstance(name, str):
            if not valid_chat_input_name(name):
                errs.append(
                    FieldError(
                        (*here, "name"),
                        "APPLICATION_COMMAND_INVALID_NAME",
                        "Command name is invalid",
                        f"option name {name!r}",
                    )
                )
            if name in seen:
                errs.append(
                    FieldError(
                        (*here, "name"),
                        "APPLICATION_COMMAND_OPTIONS_DUPLICATE_NAME",
                        "Option names must be unique",
                        name,
                    )
                )
            seen.add(name)
        for loc, lname in (opt.get("name_localizations") or {}).items():
            if isinstance(lname, str) and not valid_chat_input_name(lname):
                errs.append(
                    FieldError(
                        (*here, "name_localizations", loc),
                        "APPLICATION_COMMAND_INVALID_NAME",
                        "Command name is invalid",
                        lname,
                    )
                )
        otype = opt.get("type")
        if otype in (1, 2):
            errs.extend(_option_rules(opt.get("options"), here))
            continue
        if opt.get("required"):
            if optional_seen:
                errs.append(
                    FieldError(
                        here,
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                        str(name),
                    )
                )
        else:
            optional_seen = True
        if opt.get("autocomplete") and opt.get("choices"):
            errs.append(
                FieldError(
                    (*here, "autocomplete"),
                    "APPLICATION_COMMAND_AUTOCOMPLETE_INVALID",
                    "Autocomplete cannot be set with choices",
                    str(name),
                )
            )
    return errs


def command_rules(cmd: Mapping[str, Any], prefix: tuple[str | int, ...] = ()) -> list[FieldError]:
    """Name/description rules for one application command (chat input, user or message)."""
    errs: list[FieldError] = []
    ctype = cmd.get("type") or 1
    name = cmd.get("name")
    if ctype == 1:
        if isinstance(name, str) and not valid_chat_input_name(name):
            errs.append(
                FieldError(
                    (*prefix, "name"),
                    "APPLICATION_COMMAND_INVALID_NAME",
                    "Command name is invalid",
                    f"command name {name!r}",
                )
            )
        for loc, lname in (cmd.get("name_localizations") or {}).items():
            if isinstance(lname, str) and not valid_chat_input_name(lname):
                errs.append(
                    FieldError(
                        (*prefix, "name_localizations", loc),
                        "APPLICATION_COMMAND_INVALID_NAME",
                        "Command name is invalid",
                        lname,
                    )
                )
        if not cmd.get("description"):
            errs.append(
                FieldError(
                    (*prefix, "description"),
                    "BASE_TYPE_REQUIRED",
                    "This field is required",
                    "chat input commands need a description",
                )
            )
        errs.extend(_option_rules(cmd.get("options"), prefix))
    else:
        if cmd.get("description"):
            errs.append(
                FieldError(
                    (*prefix, "description"),
                    "APPLICATION_COMMAND_INVALID_DESCRIPTION",
                    "Context menu commands cannot have a description",
                    str(name),
                )
            )
        if cmd.get("options"):
            errs.append(
                FieldError(
                    (*prefix, "options"),
                    "APPLICATION_COMMAND_OPTIONS_INVALID",
                    "Context menu commands cannot have options",
                    str(name),
                )
            )
    chars = _command_chars(cmd)
    if chars > COMMAND_TOTAL_CHARS_LIMIT:
        errs.append(
            FieldError(
                prefix, "APPLICATION_COMMAND_TOO_LARGE", "Command exceeds maximum size (4000)", f"{chars} characters"
            )
        )
    return errs


def bulk_command_rules(body: Any) -> list[FieldError]:
    """Per-command rules plus uniqueness of (type, name) across a bulk overwrite."""
    if not isinstance(body, list):
        return []
    errs: list[FieldError] = []
    seen: set[tuple[int, str]] = set()
    for i, cmd in enumerate(body):
        if not isinstance(cmd, Mapping):
            continue
        errs.extend(command_rules(cmd, (i,)))
        key = (int(cmd.get("type") or 1), str(cmd.get("name")))
        if key in seen:
            errs.append(
                FieldError(
                    (i, "name"),
                    "APPLICATION_COMMANDS_DUPLICATE_NAME",
                    "Application command names must be unique",
                    key[1],
                )
            )
        seen.add(key)
    return errs
