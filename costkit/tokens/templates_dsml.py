"""DeepSeek V3.2's prompt encoding: a conversation rendered to the exact text the model reads.

This follows DeepSeek's official encoder for V3.2 (`encoding/encoding_dsv32.py` in the model
repository, vendored by vLLM as `vllm/tokenizers/deepseek_v32_encoding.py` and by SGLang as
`encoding_dsv32.py`), written afresh here over costkit's own `Turn` type:

- BOS, then the system prompt as is; tool schemas are appended to it after a blank line, in
  DeepSeek's `## Tools` block byte for byte as the official encoder writes it (the vLLM and
  SGLang copies drop its seven blank lines; the token count happens to be the same, the
  text is not), then the system message's own `response_format` (DeepSeek's message field,
  not the request's) after a blank line, in DeepSeek's `## Response Format:` block.
- user turn: `<｜User｜>{content}<｜Assistant｜>`, then `<think>` for the last user turn in
  thinking mode, else `</think>`.
- `developer` turn: a user turn whose content is its `response_format` block (if it has
  one) and then `\\n\\n# The user's message is: {content}`.
- assistant turn: `{reasoning</think>}{content}{tool calls}<｜end▁of▁sentence｜>`, the tool
  calls as `\\n\\n<｜DSML｜function_calls>` with one `invoke` per call;
  reasoning is kept only for turns after the last user turn, and only in thinking mode.
- tool results of one assistant turn: `\\n\\n<function_results>` + `\\n<result>{content}</result>`
  per call + `\\n</function_results>`, then `\\n\\n<think>` (thinking, after the last user
  turn) or `\\n\\n</think>`.

Where the official encoder asserts (a tool result with no call to answer), this raises
InputError naming the message; where it would print Python's `None`, this renders "".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from costkit.core.errors import InputError

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
USER = "<｜User｜>"
ASSISTANT = "<｜Assistant｜>"
THINK_START = "<think>"
THINK_END = "</think>"
DSML = "｜DSML｜"

TOOLS_HEAD = "## Tools\n\n"
# The blank lines are part of the model's prompt (DeepSeek's encoder writes them; the copies
# in vLLM and SGLang lost them): `--show-prompt` prints this text, so it must be exact.
TOOLS_BLOCK = """## Tools

You have access to a set of tools you can use to answer the user's question.
You can invoke functions by writing a "<{dsml}function_calls>" block like the following as part of your reply to the user:
<{dsml}function_calls>
<{dsml}invoke name="$FUNCTION_NAME">
<{dsml}parameter name="$PARAMETER_NAME" string="true|false">$PARAMETER_VALUE</{dsml}parameter>
...
</{dsml}invoke>
<{dsml}invoke name="$FUNCTION_NAME2">
...
</{dsml}invoke>
</{dsml}function_calls>

String and scalar parameters should be specified as is without any escaping or quotes, while lists and objects should use JSON format. The "string" attribute should be set to "true" for string type parameters and "false" for other types (numbers, booleans, arrays, objects).

If the thinking_mode is enabled, then after function results you should strongly consider outputting a thinking block. Here is an example:

<{dsml}function_calls>
...
</{dsml}function_calls>

<function_results>
...
</function_results>

{think_start}...thinking about results{think_end}

Here are the functions available in JSONSchema format:
<functions>
{schemas}
</functions>
"""  # noqa: E501  (the model's own prompt text, kept byte for byte)
RESPONSE_FORMAT_HEAD = (
    "## Response Format:\n\nYou MUST strictly adhere to the following schema to reply:\n"
)


@dataclass(slots=True)
class ToolCall:
    """One function call an assistant turn made; `arguments` is the parsed JSON object."""

    name: str
    arguments: dict[str, Any]


@dataclass(slots=True)
class Turn:
    """One message of a conversation in the shape the encoder reads (any endpoint maps to it).

    `tool_calls` is None for a turn without calls (most of them; no list is made for those).
    """

    role: str  # system | developer | user | assistant | tool
    content: str = ""
    reasoning: str = ""
    tool_calls: list[ToolCall] | None = None
    # system / developer only: a schema the reply must follow, written into the prompt
    response_format: Any = None
    where: str = ""  # e.g. "messages[3]", for error messages

    def add_call(self, call: ToolCall) -> None:
        if self.tool_calls is None:
            self.tool_calls = [call]
        else:
            self.tool_calls.append(call)


_ENCODER = json.JSONEncoder(ensure_ascii=False)  # json.dumps would build one per call
_TOOLS_BLOCKS: dict[str, str] = {}  # repr of the schemas -> their block (a batch repeats them)


def to_json(value: Any) -> str:
    """JSON as DeepSeek's encoder writes it: Python's default separators, non-ASCII kept."""
    return _ENCODER.encode(value)


def render_tools(schemas: Sequence[dict[str, Any]]) -> str:
    # Values read from JSON with equal reprs write equal JSON, so the repr is a safe key.
    key = repr(schemas)
    block = _TOOLS_BLOCKS.get(key)
    if block is None:
        if len(_TOOLS_BLOCKS) >= 256:
            _TOOLS_BLOCKS.clear()
        block = _TOOLS_BLOCKS[key] = TOOLS_BLOCK.format(
            dsml=DSML,
            think_start=THINK_START,
            think_end=THINK_END,
            schemas="\n".join(to_json(s) for s in schemas),
        )
    return block


def _response_format(turn: Turn) -> str:
    if not turn.response_format:
        return ""
    return "\n\n" + RESPONSE_FORMAT_HEAD + to_json(turn.response_format)


def _render_tool_calls(calls: Sequence[ToolCall]) -> str:
    invokes = []
    for call in calls:
        params = "\n".join(
            f'<{DSML}parameter name="{key}" string="true">{value}</{DSML}parameter>'
            if isinstance(value, str) else
            f'<{DSML}parameter name="{key}" string="false">{to_json(value)}</{DSML}parameter>'
            for key, value in call.arguments.items()
        )
        invokes.append(f'<{DSML}invoke name="{call.name}">\n{params}\n</{DSML}invoke>')
    return f"\n\n<{DSML}function_calls>\n" + "\n".join(invokes) + f"\n</{DSML}function_calls>"


def encode(
    turns: Sequence[Turn], tools: Sequence[dict[str, Any]] = (), thinking: bool = True
) -> str:
    """The prompt text of `turns` (system turns first, as given) with `tools` offered.

    `tools` are function schemas (`{"name", "description", "parameters"}`); they attach to
    the first turn when it is a system turn, else to an empty system turn put before it.
    """
    if tools:
        turns = list(turns)
        if turns and turns[0].role == "system":
            first = turns[0]
            system = (first.content or "") + "\n\n" + render_tools(tools)
            turns[0] = Turn("system", system, response_format=first.response_format,
                            where=first.where)
        else:
            turns.insert(0, Turn("system", "\n\n" + render_tools(tools), where="tools"))
    last_user = -1
    for i in range(len(turns) - 1, -1, -1):
        if turns[i].role in ("user", "developer"):
            last_user = i
            break

    out = [BOS]
    for i, turn in enumerate(turns):
        role = turn.role
        if role == "system":
            out.append(turn.content + _response_format(turn))
        elif role in ("user", "developer"):
            content = turn.content
            if role == "developer":
                content = f"{_response_format(turn)}\n\n# The user's message is: {content}"
            out.append(f"{USER}{content}{ASSISTANT}")
            out.append(THINK_START if (i == last_user and thinking) else THINK_END)
        elif role == "assistant":
            reasoning = ""
            if thinking and i > last_user:
                reasoning = turn.reasoning + THINK_END
            calls = _render_tool_calls(turn.tool_calls) if turn.tool_calls else ""
            out.append(f"{reasoning}{turn.content}{calls}{EOS}")
        elif role == "tool":
            out.append(_render_tool_result(turns, i, last_user, thinking))
        else:
            raise InputError(f"{turn.where or f'message {i}'}: unknown role {role!r}")
    return "".join(out)


def split_at_tools(text: str, tools: Sequence[dict[str, Any]]) -> tuple[str, str, str] | None:
    """`text` as (head, tools block body, tail) whose token counts add up to the whole's.

    A batch re-sends the same tools in every request; counting their block once is what this
    is for. The cuts are where counts are additive: before the body, after a newline and
    before an ASCII letter ("You have access..."), which always ends a pre-tokenizer piece
    and starts no added token; after it, at an added token (the next `<｜User｜>`) or the end.
    None when the body is not found at such a place.
    """
    if not tools:
        return None
    body = render_tools(tools)[len(TOOLS_HEAD):]
    start = text.find(body)
    if start <= 0 or text[start - 1] != "\n":
        return None
    end = start + len(body)
    if end != len(text) and not text.startswith(USER, end):
        return None
    return text[:start], body, text[end:]


def _render_tool_result(turns: list[Turn], i: int, last_user: int, thinking: bool) -> str:
    caller = i - 1
    while caller >= 0 and turns[caller].role == "tool":
        caller -= 1
    order = i - caller  # 1 for the first result after the assistant turn
    calls = turns[caller].tool_calls if caller >= 0 and turns[caller].role == "assistant" else None
    calls = calls or []
    if len(calls) < order:
        raise InputError(
            f"{turns[i].where or f'message {i}'}: tool result #{order} follows an assistant "
            f"turn with {len(calls)} tool call(s); each result must answer a call of the "
            "assistant turn just before it"
        )
    text = "\n\n<function_results>" if order == 1 else ""
    text += f"\n<result>{turns[i].content}</result>"
    if order == len(calls):
        text += "\n</function_results>"
        text += "\n\n" + (THINK_START if (i >= last_user and thinking) else THINK_END)
    return text
