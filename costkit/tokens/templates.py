"""Chat templates: a request body of any of the three endpoints -> the exact prompt text.

`render(body, endpoint, thinking)` maps a `/v1/chat/completions`, `/v1/responses` or
`/v1/messages` body to one conversation (`templates_dsml.Turn`s plus function schemas) and
encodes it the way DeepSeek V3.2 reads it (`templates_dsml.encode`). The mapping of each
endpoint follows what an OpenAI-compatible server for the model does with it (vLLM's
conversions): text parts of one message are joined with a newline, Anthropic system blocks
and thinking blocks are concatenated, Anthropic `tool_result` blocks become tool results
placed before the rest of their user message, and tool arguments are rendered from their
parsed JSON object. Anything that is not text (images, audio, files, server-side tool
items) is not counted, and the result says so in `notes`; nothing is dropped silently.

Endpoint detection (`detect_endpoint`), when the caller does not name one:
- `input` or `instructions` -> responses;
- `messages` -> messages (Anthropic) when the body has an Anthropic-only marker: a top-level
  `system`, `stop_sequences` or `anthropic_version`, a tool with `input_schema`, or a
  content block of type tool_use / tool_result / thinking / redacted_thinking /
  image-with-source / document; else chat.completions. (`max_tokens` and a `thinking`
  object decide nothing: DeepSeek's chat API accepts both too. A body with none of the
  markers renders the same either way.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from costkit.core.errors import InputError
from costkit.tokens.template_parts import (
    PART_JOIN,
    _arguments,
    _is_search_tool,
    _json_type,
    _optional_list,
    _parts_text,
    _require_list,
    _schema,
    _string,
)
from costkit.tokens.templates_dsml import ToolCall, Turn, encode, split_at_tools

CHAT = "chat.completions"
RESPONSES = "responses"
MESSAGES = "messages"
ENDPOINTS = (CHAT, RESPONSES, MESSAGES)
ENDPOINT_NAMES = {
    CHAT: CHAT, "chat": CHAT, "/v1/chat/completions": CHAT, "/chat/completions": CHAT,
    RESPONSES: RESPONSES, "/v1/responses": RESPONSES, "/responses": RESPONSES,
    MESSAGES: MESSAGES, "anthropic": MESSAGES, "/v1/messages": MESSAGES, "/messages": MESSAGES,
}
_ANTHROPIC_BLOCKS = {"tool_use", "tool_result", "thinking", "redacted_thinking", "document"}


@dataclass(slots=True)
class Conversation:
    """A request's prompt in the encoder's terms, plus what rendering could not count."""

    endpoint: str
    turns: list[Turn]
    tools: list[dict[str, Any]] = field(default_factory=list)
    server_tools: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # "image part" -> how many
    notes: list[str] = field(default_factory=list)

    def skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def assumptions(self) -> list[str]:
        if not self.notes and not self.skipped:
            return []
        out = list(self.notes)
        for what, n in sorted(self.skipped.items()):
            out.append(
                f"{n} {what}{'' if n == 1 else 's'} not counted: the prompt is counted as text "
                "only (DeepSeek V3.2 reads text; the provider may reject or bill them otherwise)"
            )
        return out


@dataclass
class Rendered:
    text: str
    conversation: Conversation

    @property
    def endpoint(self) -> str:
        return self.conversation.endpoint

    def parts(self) -> tuple[str, str, str] | None:
        """(head, tools block body, tail) with counts adding up to the text's, or None."""
        return split_at_tools(self.text, self.conversation.tools)


@lru_cache(maxsize=256)
def normalize_endpoint(name: str) -> str:
    """'chat.completions' / 'responses' / 'messages' from a name or URL path."""
    key = name.strip()
    if "://" in key:  # a full URL: keep its path
        key = "/" + key.split("://", 1)[1].partition("/")[2]
    key = key.split("?", 1)[0].rstrip("/") or key
    found = ENDPOINT_NAMES.get(key) or ENDPOINT_NAMES.get(key.lower())
    if found is None:
        raise InputError(
            f"unknown endpoint {name!r}; use chat.completions (/v1/chat/completions), "
            "responses (/v1/responses) or messages (/v1/messages)"
        )
    return found


def detect_endpoint(body: Mapping[str, Any]) -> str:
    """Which endpoint a body is for, from its shape (see the module docstring)."""
    if not isinstance(body, dict):
        raise InputError(f"the request body is a JSON {_json_type(body)}, not an object")
    if "input" in body or "instructions" in body:
        return RESPONSES
    if "messages" in body:
        return MESSAGES if _looks_anthropic(body) else CHAT
    raise InputError(
        "not a request for any of the three endpoints: missing field 'messages' "
        "(chat.completions, messages) or 'input' (responses)"
    )


def _looks_anthropic(body: Mapping[str, Any]) -> bool:
    if any(k in body for k in ("system", "stop_sequences", "anthropic_version")):
        return True
    tools = body.get("tools")
    if isinstance(tools, list) and any(isinstance(t, dict) and "input_schema" in t
                                       for t in tools):
        return True
    messages = body.get("messages")
    if isinstance(messages, list):
        for m in messages:
            content = m.get("content") if isinstance(m, dict) else None
            if isinstance(content, list):
                for block in content:
                    if not isinstance(block, dict):
                        continue
                    kind = block.get("type")
                    if kind in _ANTHROPIC_BLOCKS or (kind == "image" and "source" in block):
                        return True
    return False


def requested_thinking(body: Mapping[str, Any], endpoint: str) -> bool | None:
    """Thinking on/off as the body asks (None when it does not say; the card's default applies).

    `enable_thinking` (top level or in `chat_template_kwargs`, also `thinking: bool`) wins;
    then Anthropic's `thinking: {type: enabled|disabled}` and DeepSeek's `thinking: {type}`;
    then `reasoning_effort` / `reasoning.effort`: "none" turns thinking off, any other level on.
    """
    for holder in (body, body.get("chat_template_kwargs")):
        if isinstance(holder, dict):
            for key in ("enable_thinking", "thinking"):
                if isinstance(holder.get(key), bool):
                    return holder[key]
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        kind = thinking.get("type")
        if kind == "disabled":
            return False
        if kind in ("enabled", "adaptive"):
            return True
    effort = reasoning_effort(body)
    if effort is not None:
        return effort != "none"
    return None


def reasoning_effort(body: Mapping[str, Any]) -> Any:
    """The body's `reasoning_effort` (or `reasoning.effort`, or `output_config.effort`)."""
    if "reasoning_effort" in body and body["reasoning_effort"] is not None:
        return body["reasoning_effort"]
    for key in ("reasoning", "output_config"):
        holder = body.get(key)
        if isinstance(holder, dict) and holder.get("effort") is not None:
            return holder["effort"]
    return None


def conversation(body: Mapping[str, Any], endpoint: str | None = None) -> Conversation:
    """The body as one conversation; `endpoint` forces the mapping (else detected)."""
    endpoint = normalize_endpoint(endpoint) if endpoint else detect_endpoint(body)
    if not isinstance(body, dict):
        raise InputError(f"the request body is a JSON {_json_type(body)}, not an object")
    if endpoint == CHAT:
        return _chat(body)
    if endpoint == RESPONSES:
        return _responses(body)
    return _messages(body)


def render(body: Mapping[str, Any], endpoint: str | None = None, thinking: bool = True) -> Rendered:
    """The exact prompt text DeepSeek V3.2 reads for `body` (thinking mode as given)."""
    conv = conversation(body, endpoint)
    return Rendered(encode(conv.turns, conv.tools, thinking=thinking), conv)


def render_text(text: str, thinking: bool = True) -> str:
    """The prompt of one user message `text` on chat completions."""
    return encode([Turn("user", text)], thinking=thinking)


# --- /v1/chat/completions --------------------------------------------------------------------

def _chat(body: Mapping[str, Any]) -> Conversation:
    conv = Conversation(CHAT, [])
    messages = _require_list(body, "messages")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise InputError(f"{where} is a JSON {_json_type(msg)}; each message must be an object")
        role = msg.get("role")
        if role is None:
            raise InputError(f"{where}: missing field 'role'")
        if role == "function":  # legacy function result
            role = "tool"
        if role not in ("system", "developer", "user", "assistant", "tool"):
            raise InputError(
                f"{where}.role is {role!r}; expected system, developer, user, assistant or tool"
            )
        text = _parts_text(msg.get("content"), f"{where}.content", conv)
        turn = Turn(role, text, where=where)
        if role in ("system", "developer"):
            # DeepSeek's own message field (its encoder writes it into the prompt); the
            # request-level `response_format` is another thing, see below
            turn.response_format = msg.get("response_format") or None
        elif role == "assistant":
            reasoning = msg.get("reasoning_content") or msg.get("reasoning") or ""
            if not isinstance(reasoning, str):
                raise InputError(f"{where}.reasoning_content must be a string")
            turn.reasoning = reasoning
            calls = msg.get("tool_calls") or []
            if not isinstance(calls, list):
                raise InputError(f"{where}.tool_calls must be a list")
            for j, call in enumerate(calls):
                turn.add_call(_chat_tool_call(call, f"{where}.tool_calls[{j}]"))
            legacy = msg.get("function_call")
            if isinstance(legacy, dict):
                call = _chat_tool_call({"function": legacy}, f"{where}.function_call")
                turn.add_call(call)
        conv.turns.append(turn)
    for i, tool in enumerate(_optional_list(body, "tools")):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise InputError(f"{where} must be an object")
        if tool.get("type", "function") == "function" and isinstance(tool.get("function"), dict):
            conv.tools.append(dict(tool["function"]))
        elif _is_search_tool(tool):
            conv.server_tools.append(dict(tool))
        else:
            raise InputError(f"{where}: missing field 'function' (a function tool's schema)")
    for i, fn in enumerate(_optional_list(body, "functions")):  # legacy `functions`
        if not isinstance(fn, dict):
            raise InputError(f"functions[{i}] must be an object")
        conv.tools.append(dict(fn))
    if body.get("response_format") not in (None, {"type": "text"}):
        conv.notes.append(
            "response_format is enforced by the server, not written into the prompt; "
            "it is not counted"
        )
    return conv


def _chat_tool_call(call: Any, where: str) -> ToolCall:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise InputError(f"{where}: missing field 'function'")
    fn = call["function"]
    name = fn.get("name")
    if not isinstance(name, str):
        raise InputError(f"{where}.function: missing field 'name'")
    return ToolCall(name, _arguments(fn.get("arguments"), f"{where}.function.arguments"))


# --- /v1/responses ---------------------------------------------------------------------------

def _responses(body: Mapping[str, Any]) -> Conversation:
    conv = Conversation(RESPONSES, [])
    instructions = body.get("instructions")
    if instructions is not None:
        conv.turns.append(Turn("system", _parts_text(instructions, "instructions", conv),
                               where="instructions"))
    if body.get("previous_response_id"):
        conv.notes.append(
            "previous_response_id: the stored conversation it continues is not in the body "
            "and is not counted; the prompt is at least this long"
        )
    raw = body.get("input")
    if raw is None and instructions is None:
        raise InputError("not a responses request: missing field 'input'")
    if isinstance(raw, str):
        conv.turns.append(Turn("user", raw, where="input"))
    elif isinstance(raw, list):
        _response_items(raw, conv)
    elif raw is not None:
        raise InputError(
            f"input is a JSON {_json_type(raw)}; it must be a string or a list of items"
        )
    for i, tool in enumerate(_optional_list(body, "tools")):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise InputError(f"{where} must be an object")
        kind = tool.get("type", "function")
        if kind == "function":
            conv.tools.append(_schema(tool, "parameters", where))
        elif _is_search_tool(tool):
            conv.server_tools.append(dict(tool))
        else:
            conv.skip(f"{kind} tool definition")
    text_format = body.get("text")
    if isinstance(text_format, dict) and isinstance(text_format.get("format"), dict) and \
            text_format["format"].get("type") not in (None, "text"):
        conv.notes.append(
            "text.format is enforced by the server, not written into the prompt; it is not counted"
        )
    return conv


def _response_items(items: list, conv: Conversation) -> None:
    # Output items of one model turn (reasoning, message, function calls) arrive as separate
    # items; servers fold them into one assistant message the way vLLM's Responses
    # conversion does: an item fills the assistant message right before it while the field
    # it brings (reasoning, content) is still empty, a function call always joins it, and
    # anything else starts a new message. `filled` holds the fields taken in that message.
    filled: set[str] = set()

    def assistant_turn(field_name: str | None, where: str) -> Turn:
        last = conv.turns[-1] if conv.turns else None
        if last is None or last.role != "assistant" or field_name in filled:
            last = Turn("assistant", "", where=where)
            conv.turns.append(last)
            filled.clear()
        if field_name is not None:
            filled.add(field_name)
        return last

    for i, item in enumerate(items):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise InputError(
                f"{where} is a JSON {_json_type(item)}; each input item must be an object"
            )
        kind = item.get("type", "message" if "role" in item else None)
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise InputError(
                    f"{where}.role is {role!r}; expected user, assistant, system or developer"
                )
            text = _parts_text(item.get("content"), f"{where}.content", conv)
            if role == "assistant":
                assistant_turn("content", where).content = text
            else:
                conv.turns.append(Turn(role, text, where=where))
        elif kind == "function_call":
            name = item.get("name")
            if not isinstance(name, str):
                raise InputError(f"{where}: missing field 'name'")
            call = ToolCall(name, _arguments(item.get("arguments"), f"{where}.arguments"))
            assistant_turn(None, where).add_call(call)
        elif kind == "function_call_output":
            if "output" not in item:
                raise InputError(f"{where}: missing field 'output'")
            text = _parts_text(item.get("output"), f"{where}.output", conv)
            conv.turns.append(Turn("tool", text, where=where))
        elif kind == "reasoning":
            assistant_turn("reasoning", where).reasoning = _reasoning_text(item, where)
        elif kind is None:
            raise InputError(f"{where}: missing field 'type'")
        else:
            conv.skip(f"{kind} item")


def _reasoning_text(item: Mapping[str, Any], where: str) -> str:
    for key, part_type in (("content", "reasoning_text"), ("summary", "summary_text")):
        parts = item.get(key)
        if isinstance(parts, list) and parts:
            texts = [p.get("text", "") for p in parts
                     if isinstance(p, dict) and p.get("type", part_type) == part_type]
            return PART_JOIN.join(t for t in texts if isinstance(t, str))
    return ""


# --- /v1/messages (Anthropic) -----------------------------------------------------------------

def _messages(body: Mapping[str, Any]) -> Conversation:
    conv = Conversation(MESSAGES, [])
    system = body.get("system")
    if system is not None:
        if isinstance(system, str):
            text = system
        elif isinstance(system, list):
            text = "".join(_block_texts(system, "system", conv))
        else:
            raise InputError(
                f"system is a JSON {_json_type(system)}; it must be a string or a list of blocks"
            )
        if text:
            conv.turns.append(Turn("system", text, where="system"))
    messages = _require_list(body, "messages")
    for i, msg in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(msg, dict):
            raise InputError(f"{where} is a JSON {_json_type(msg)}; each message must be an object")
        role = msg.get("role")
        if role not in ("user", "assistant"):
            raise InputError(f"{where}.role is {role!r}; expected user or assistant")
        content = msg.get("content")
        if isinstance(content, str):
            conv.turns.append(Turn(role, content, where=where))
            continue
        if not isinstance(content, list):
            raise InputError(f"{where}: missing field 'content' (a string or a list of blocks)")
        texts: list[str] = []
        turn = Turn(role, "", where=where)
        for j, block in enumerate(content):
            bw = f"{where}.content[{j}]"
            if not isinstance(block, dict):
                raise InputError(f"{bw} must be an object")
            kind = block.get("type")
            if kind == "text":
                texts.append(_string(block.get("text"), f"{bw}.text"))
            elif kind == "thinking":
                turn.reasoning += _string(block.get("thinking"), f"{bw}.thinking")
            elif kind == "tool_use":
                name = block.get("name")
                if not isinstance(name, str):
                    raise InputError(f"{bw}: missing field 'name'")
                arguments = _arguments(block.get("input", {}), f"{bw}.input")
                turn.add_call(ToolCall(name, arguments))
            elif kind == "tool_result":
                result = block.get("content", "")
                if isinstance(result, list):
                    result = PART_JOIN.join(_block_texts(result, f"{bw}.content", conv))
                elif not isinstance(result, str):
                    raise InputError(f"{bw}.content must be a string or a list of blocks")
                if role == "user":
                    conv.turns.append(Turn("tool", result, where=bw))
                else:
                    texts.append(f"Tool result: {result}")
            elif kind in ("image", "document", "redacted_thinking", "server_tool_use",
                          "web_search_tool_result", "search_result"):
                conv.skip(f"{kind} block")
            elif kind is None:
                raise InputError(f"{bw}: missing field 'type'")
            else:
                conv.skip(f"{kind} block")
        turn.content = PART_JOIN.join(texts)
        if role == "user" and not texts:
            continue  # only tool results: they are the turn
        conv.turns.append(turn)
    for i, tool in enumerate(_optional_list(body, "tools")):
        where = f"tools[{i}]"
        if not isinstance(tool, dict):
            raise InputError(f"{where} must be an object")
        if _is_search_tool(tool):
            conv.server_tools.append(dict(tool))
        elif "input_schema" in tool or tool.get("type") in (None, "custom"):
            conv.tools.append(_schema(tool, "input_schema", where))
        else:
            conv.skip(f"{tool.get('type')} tool definition")
    return conv


def _block_texts(blocks: Iterable[Any], where: str, conv: Conversation) -> list[str]:
    texts = []
    for j, block in enumerate(blocks):
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            texts.append(_string(block.get("text"), f"{where}[{j}].text"))
        elif isinstance(block, dict):
            conv.skip(f"{block.get('type')} block")
        else:
            raise InputError(f"{where}[{j}] must be an object")
    return texts
