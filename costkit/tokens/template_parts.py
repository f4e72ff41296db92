"""The pieces every endpoint's template mapping shares: a message's text parts, tool
arguments and schemas, and the checks on a body's fields (each failure an InputError naming
the field)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

from costkit.core.errors import InputError


class Skips(Protocol):
    """What a conversation being built does with a part that is not text: notes it."""

    def skip(self, what: str) -> None: ...

PART_JOIN = "\n"  # text parts of one message, as vLLM joins them
_TEXT_PARTS = {"text", "input_text", "output_text"}


def _parts_text(content: Any, where: str, conv: Skips) -> str:
    """Text of a message's content: a string, null, or a list of parts (text parts joined)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise InputError(
            f"{where} is a JSON {_json_type(content)}; expected a string or a list of parts"
        )
    texts = []
    for j, part in enumerate(content):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, dict):
            raise InputError(f"{where}[{j}] must be an object")
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(_string(part.get("text"), f"{where}[{j}].text"))
        elif kind == "refusal":
            texts.append(_string(part.get("refusal"), f"{where}[{j}].refusal"))
        elif kind is None:
            raise InputError(f"{where}[{j}]: missing field 'type'")
        else:
            conv.skip(f"{_kind_name(kind)} part")
    return PART_JOIN.join(texts)


def _kind_name(kind: str) -> str:
    kind = str(kind)
    for prefix in ("input_",):
        if kind.startswith(prefix):
            kind = kind[len(prefix):]
    return kind.removesuffix("_url")


def _arguments(raw: Any, where: str) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise InputError(f"{where} is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(raw, dict):
        raise InputError(f"{where} is a JSON {_json_type(raw)}; tool arguments must be an object")
    return raw


def _schema(tool: Mapping[str, Any], params_key: str, where: str) -> dict[str, Any]:
    name = tool.get("name")
    if not isinstance(name, str):
        raise InputError(f"{where}: missing field 'name'")
    schema: dict[str, Any] = {"name": name}
    if tool.get("description") is not None:
        schema["description"] = tool["description"]
    if tool.get(params_key) is not None:
        schema["parameters"] = tool[params_key]
    return schema


def _is_search_tool(tool: Mapping[str, Any]) -> bool:
    kind = tool.get("type")
    return isinstance(kind, str) and kind.startswith("web_search")


def _string(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where} is {'missing' if value is None else 'not a string'}")
    return value


def _require_list(body: Mapping[str, Any], key: str) -> list:
    value = body.get(key)
    if value is None:
        raise InputError(f"missing field {key!r}")
    if not isinstance(value, list) or not value:
        raise InputError(f"{key} must be a non-empty list")
    return value


def _optional_list(body: Mapping[str, Any], key: str) -> list:
    value = body.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{key} must be a list")
    return value


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null",
            int: "number", float: "number"}.get(type(value), type(value).__name__)
