"""Chat templates: each endpoint's body rendered to the exact DeepSeek V3.2 prompt text."""

from __future__ import annotations

import copy
import json

import pytest
from conftest import FIXTURES, GOLDEN

from costkit.core.errors import InputError
from costkit.tokens.templates import (
    CHAT,
    MESSAGES,
    RESPONSES,
    conversation,
    detect_endpoint,
    normalize_endpoint,
    render,
    render_text,
    requested_thinking,
)
from costkit.tokens.templates_dsml import BOS, EOS, ToolCall, Turn, encode

BODIES = FIXTURES / "estimate"


def load(name: str) -> dict:
    return json.loads((BODIES / name).read_text(encoding="utf-8"))


def golden(name: str) -> str:
    return (GOLDEN / name).read_text(encoding="utf-8")


# --- the encoder, against hand-written expectations from DeepSeek's own examples -------------

def test_seed_example_thinking_and_chat_mode():
    assert render_text("Write a haiku about the ocean.") == (
        "<｜begin▁of▁sentence｜><｜User｜>Write a haiku about the ocean.<｜Assistant｜><think>"
    )
    assert render_text("Write a haiku about the ocean.", thinking=False) == (
        "<｜begin▁of▁sentence｜><｜User｜>Write a haiku about the ocean.<｜Assistant｜></think>"
    )


def test_deepseek_readme_example_drops_old_reasoning():
    # The example in DeepSeek-V3.2's encoding README, output copied from it.
    body = {"messages": [
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "Hello! I am DeepSeek.",
         "reasoning_content": "thinking..."},
        {"role": "user", "content": "1+1=?"},
    ]}
    assert render(body, thinking=True).text == (
        "<｜begin▁of▁sentence｜><｜User｜>hello<｜Assistant｜></think>Hello! I am DeepSeek."
        "<｜end▁of▁sentence｜><｜User｜>1+1=?<｜Assistant｜><think>"
    )


def test_reasoning_after_last_user_is_kept_in_thinking_mode_only():
    turns = [Turn("user", "q"), Turn("assistant", "a", reasoning="r")]
    assert encode(turns, thinking=True) == f"{BOS}<｜User｜>q<｜Assistant｜><think>r</think>a{EOS}"
    assert encode(turns, thinking=False) == f"{BOS}<｜User｜>q<｜Assistant｜></think>a{EOS}"


def test_system_prompt_is_written_as_is_before_the_first_turn():
    body = {"messages": [{"role": "system", "content": "Be terse."},
                         {"role": "user", "content": "Hi"}]}
    assert render(body, thinking=False).text == f"{BOS}Be terse.<｜User｜>Hi<｜Assistant｜></think>"


def test_developer_turn_renders_as_deepseek_developer_message():
    body = {"messages": [{"role": "developer", "content": "Use metric units."}]}
    assert render(body).text == (
        f"{BOS}<｜User｜>\n\n# The user's message is: Use metric units.<｜Assistant｜><think>"
    )


def test_tools_without_system_prompt_open_the_prompt():
    body = {"messages": [{"role": "user", "content": "Hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
    text = render(body).text
    assert text.startswith(f"{BOS}\n\n## Tools\n\nYou have access to a set of tools")
    assert '\n<functions>\n{"name": "f", "parameters": {}}\n</functions>\n<｜User｜>Hi' in text


# A conversation of our own, checked while writing this against DeepSeek's published V3.2
# encoder (its own test example renders byte for byte the same through costkit) and counted
# with Hugging Face `tokenizers` on the model's tokenizer.json: 442 tokens in either mode.
TRIP = {"messages": [
    {"role": "system", "content": "You plan city trips."},
    {"role": "user", "content": "Is the Munch museum open on Monday?"},
    {"role": "assistant", "content": None, "reasoning_content": "Check opening hours.",
     "tool_calls": [{"id": "t1", "type": "function", "function": {
         "name": "opening_hours", "arguments": "{\"place\": \"Munch\", \"weekday\": 1}"}}]},
    {"role": "tool", "tool_call_id": "t1", "content": "10:00-18:00"},
    {"role": "assistant", "content": "Yes, from 10:00 to 18:00."},
    {"role": "user", "content": "And on Sunday?"}],
    "tools": [{"type": "function", "function": {
        "name": "opening_hours",
        "description": "Opening hours of a place on a weekday (0 = Sunday).",
        "parameters": {"type": "object", "properties": {"place": {"type": "string"},
                                                        "weekday": {"type": "integer"}},
                       "required": ["place", "weekday"]}}}]}
TRIP_TOKENS = 442

# The tools block as DeepSeek's encoder writes it, line by line: each line starts with the
# given text, and the seven blank lines ("") are really empty. (vLLM's and SGLang's copies
# have none of the seven.)
TOOLS_BLOCK_LINES = [
    "## Tools",
    "",
    "You have access to a set of tools you can use",
    "You can invoke functions by writing a",
    "<｜DSML｜function_calls>",
    '<｜DSML｜invoke name="$FUNCTION_NAME">',
    '<｜DSML｜parameter name="$PARAMETER_NAME" string="true|false">$PARAMETER_VALUE<',
    "...",
    "</｜DSML｜invoke>",
    '<｜DSML｜invoke name="$FUNCTION_NAME2">',
    "...",
    "</｜DSML｜invoke>",
    "</｜DSML｜function_calls>",
    "",
    "String and scalar parameters should be specified as is",
    "",
    "If the thinking_mode is enabled, then after function results",
    "",
    "<｜DSML｜function_calls>",
    "...",
    "</｜DSML｜function_calls>",
    "",
    "<function_results>",
    "...",
    "</function_results>",
    "",
    "<think>...thinking about results</think>",
    "",
    "Here are the functions available in JSONSchema format:",
    "<functions>",
    '{"name": "opening_hours", "description": "Opening hours of a place on a weekday '
    '(0 = Sunday).", "parameters": {"type": "object", "properties": {"place": {"type": '
    '"string"}, "weekday": {"type": "integer"}}, "required": ["place", "weekday"]}}',
    "</functions>",
]

# The token each blank line ends in, in order, with its id in DeepSeek V3.2's vocabulary
# (from Hugging Face `tokenizers` on the official prompt). Without the blank lines these
# would be "\n", ">\n", ").\n" and ":\n": other ids, the same count.
BLANK_LINE_TOKENS = [(271, "\n\n"), (4697, ">\n\n"), (2008, ").\n\n"), (979, ":\n\n"),
                     (4697, ">\n\n"), (4697, ">\n\n"), (271, "\n\n")]


def test_tools_block_is_deepseeks_own_line_by_line():
    text = render(TRIP, thinking=True).text
    head, sep, rest = text.partition("## Tools")
    assert head == f"{BOS}You plan city trips.\n\n"
    block, sep, tail = (sep + rest).partition("</functions>\n")
    lines = (block + "</functions>").split("\n")
    for number, (got, want) in enumerate(zip(lines, TOOLS_BLOCK_LINES, strict=True), start=1):
        assert got.startswith(want) and (got == "") == (want == ""), (number, got, want)
    assert tail == (
        "<｜User｜>Is the Munch museum open on Monday?<｜Assistant｜></think>"
        "\n\n<｜DSML｜function_calls>\n"
        '<｜DSML｜invoke name="opening_hours">\n'
        '<｜DSML｜parameter name="place" string="true">Munch</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="weekday" string="false">1</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜function_calls><｜end▁of▁sentence｜>"
        "\n\n<function_results>\n<result>10:00-18:00</result>\n</function_results>\n\n</think>"
        "Yes, from 10:00 to 18:00.<｜end▁of▁sentence｜>"
        "<｜User｜>And on Sunday?<｜Assistant｜><think>"
    )


@pytest.mark.parametrize("thinking", [True, False])
def test_blank_lines_of_the_tools_block_are_the_tokens_deepseek_reads(thinking):
    from costkit.tokens import get_encoding

    enc = get_encoding("deepseek-v3-2")
    data = render(TRIP, thinking=thinking).text.encode("utf-8")
    ids = enc.encode(data.decode("utf-8"), allowed_special="all")
    assert len(ids) == TRIP_TOKENS
    start, end = data.index(b"## Tools"), data.index(b"</functions>")
    at, blank_line_tokens = 0, []
    for token in ids:
        piece = enc.decode_single_token_bytes(token)
        if start <= at < end and b"\n\n" in piece:
            blank_line_tokens.append((token, piece.decode("utf-8")))
        at += len(piece)
    assert at == len(data)
    assert blank_line_tokens == BLANK_LINE_TOKENS


def test_tool_call_arguments_strings_raw_others_json():
    turns = [Turn("user", "go"),
             Turn("assistant", "", tool_calls=[ToolCall("f", {"s": "a \"b\"", "n": 1.5,
                                                              "l": [1, "x"], "o": {"k": "é"}})])]
    text = encode(turns, thinking=False)
    assert (
        '<｜DSML｜invoke name="f">\n'
        '<｜DSML｜parameter name="s" string="true">a "b"</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="n" string="false">1.5</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="l" string="false">[1, "x"]</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="o" string="false">{"k": "é"}</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜function_calls><｜end▁of▁sentence｜>"
    ) in text
    assert "<｜Assistant｜></think>\n\n<｜DSML｜function_calls>\n" in text


def test_tool_results_close_with_think_marker_by_position():
    turns = [Turn("user", "go"),
             Turn("assistant", "", tool_calls=[ToolCall("f", {}), ToolCall("g", {})]),
             Turn("tool", "one"), Turn("tool", "two")]
    tail = "\n\n<function_results>\n<result>one</result>\n<result>two</result>\n</function_results>"
    assert encode(turns, thinking=True).endswith(tail + "\n\n<think>")
    assert encode(turns, thinking=False).endswith(tail + "\n\n</think>")


def test_tool_result_without_a_call_is_an_error_naming_the_message():
    body = {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "y"}]}
    with pytest.raises(InputError, match=r"messages\[1\]: tool result #1 follows an assistant"):
        render(body)
    body = {"messages": [
        {"role": "user", "content": "x"},
        {"role": "assistant", "tool_calls": [
            {"type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "content": "1"}, {"role": "tool", "content": "2"}]}
    with pytest.raises(InputError, match=r"messages\[3\]: tool result #2 .* 1 tool call"):
        render(body)


# --- golden multi-turn conversations with tools, one per endpoint -----------------------------

@pytest.mark.parametrize("endpoint", ["chat", "responses", "messages"])
@pytest.mark.parametrize("scenario", ["multiturn", "agent"])
@pytest.mark.parametrize("thinking", [True, False])
def test_multiturn_body_with_tools_matches_golden(endpoint, scenario, thinking):
    body = load(f"{endpoint}_{scenario}.json")
    rendered = render(body, thinking=thinking)
    names = {"chat": CHAT, "responses": RESPONSES, "messages": MESSAGES}
    assert rendered.endpoint == names[endpoint]
    mode = "thinking" if thinking else "chat"
    assert rendered.text == golden(f"template_{scenario}_{mode}.txt")
    assert rendered.conversation.assumptions() == []


def test_golden_agent_prompt_keeps_current_reasoning_and_ends_thinking():
    text = golden("template_agent_thinking.txt")
    assert text.count("<think>I need the weather for both cities") == 1
    assert text.endswith("</function_results>\n\n<think>")
    multiturn = golden("template_multiturn_thinking.txt")
    assert "I need the weather" not in multiturn  # reasoning before the last user turn is dropped
    assert multiturn.endswith(
        "<｜User｜>Which one is better for a picnic tomorrow?<｜Assistant｜><think>"
    )


# --- endpoint detection and forcing ------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ({"messages": [{"role": "user", "content": "hi"}]}, CHAT),
    ({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 10}, CHAT),
    ({"messages": [{"role": "user", "content": "hi"}], "system": "s"}, MESSAGES),
    ({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}],
      "thinking": {"type": "enabled"}}, CHAT),
    ({"messages": [{"role": "user", "content": "hi"}],
      "tools": [{"name": "f", "input_schema": {}}]}, MESSAGES),
    ({"messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "x"}]}]},
     MESSAGES),
    ({"input": "hi"}, RESPONSES),
    ({"instructions": "be nice", "input": []}, RESPONSES),
])
def test_detect_endpoint(body, expected):
    assert detect_endpoint(body) == expected


def test_detect_endpoint_says_which_field_is_missing():
    with pytest.raises(InputError, match="missing field 'messages'.*or 'input' \\(responses\\)"):
        detect_endpoint({"model": "deepseek-v3-2", "prompt": "hi"})
    with pytest.raises(InputError, match="JSON array, not an object"):
        detect_endpoint([1, 2])


@pytest.mark.parametrize("name, expected", [
    ("chat.completions", CHAT), ("/v1/chat/completions", CHAT),
    ("https://api.example.com/v1/chat/completions", CHAT), ("responses", RESPONSES),
    ("/v1/responses", RESPONSES), ("messages", MESSAGES), ("/v1/messages", MESSAGES),
])
def test_normalize_endpoint(name, expected):
    assert normalize_endpoint(name) == expected


def test_unknown_endpoint_lists_the_known_ones():
    with pytest.raises(InputError, match="unknown endpoint '/v1/embeddings'; use chat.completions"):
        normalize_endpoint("/v1/embeddings")


def test_forced_endpoint_reads_the_body_that_way():
    body = {"messages": [{"role": "user", "content": "hi"}], "system": "S"}
    assert render(body, endpoint="messages").text.startswith(f"{BOS}S<｜User｜>hi")
    # read as chat completions, the top-level `system` is not part of the prompt
    assert render(body, endpoint="chat.completions").text.startswith(f"{BOS}<｜User｜>hi")


# --- thinking mode from the request ------------------------------------------------------------

@pytest.mark.parametrize("body, expected", [
    ({}, None),
    ({"enable_thinking": False}, False),
    ({"enable_thinking": True, "reasoning_effort": "none"}, True),
    ({"chat_template_kwargs": {"enable_thinking": False}}, False),
    ({"chat_template_kwargs": {"thinking": True}}, True),
    ({"reasoning_effort": "none"}, False),
    ({"reasoning_effort": "high"}, True),
    ({"reasoning": {"effort": "none"}}, False),
    ({"thinking": {"type": "disabled"}}, False),
    ({"thinking": {"type": "enabled", "budget_tokens": 2000}}, True),
])
def test_requested_thinking(body, expected):
    assert requested_thinking(body, CHAT) is expected


# --- content that is not text is stated, never silently dropped -------------------------------

def test_image_and_audio_parts_are_not_counted_and_said_so():
    body = {"messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is in"},
        {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        {"type": "text", "text": "this picture?"},
        {"type": "image_url", "image_url": {"url": "https://x/z.png"}},
        {"type": "input_audio", "input_audio": {"data": "...", "format": "wav"}},
    ]}]}
    rendered = render(body)
    assert "<｜User｜>What is in\nthis picture?<｜Assistant｜>" in rendered.text
    notes = rendered.conversation.assumptions()
    assert len(notes) == 2
    assert notes[0].startswith("1 audio part not counted: the prompt is counted as text only")
    assert notes[1].startswith("2 image parts not counted")


def test_anthropic_images_redacted_thinking_and_server_tools_are_stated():
    body = {"system": "S", "messages": [
        {"role": "user", "content": [
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "x"}},
            {"type": "text", "text": "Describe"}]},
        {"role": "assistant", "content": [{"type": "redacted_thinking", "data": "zzz"},
                                          {"type": "text", "text": "A cat."}]},
        {"role": "user", "content": "Thanks"}],
        "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
                  {"type": "bash_20250124", "name": "bash"}]}
    conv = conversation(body)
    assert conv.endpoint == MESSAGES
    assert [t["type"] for t in conv.server_tools] == ["web_search_20250305"]
    assert conv.tools == []
    joined = " | ".join(conv.assumptions())
    assert "1 bash_20250124 tool definition not counted" in joined
    assert "1 image block not counted" in joined
    assert "1 redacted_thinking block not counted" in joined


def test_responses_previous_response_id_and_unknown_items_are_stated():
    body = {"previous_response_id": "resp_1", "input": [
        {"type": "message", "role": "user", "content": "hi"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
        {"type": "item_reference", "id": "msg_1"}],
        "tools": [{"type": "web_search_preview"}, {"type": "file_search", "vector_store_ids": []}]}
    conv = conversation(body)
    notes = conv.assumptions()
    assert notes[0].startswith("previous_response_id: the stored conversation it continues")
    assert any(n.startswith("1 web_search_call item not counted") for n in notes)
    assert any(n.startswith("1 item_reference item not counted") for n in notes)
    assert any(n.startswith("1 file_search tool definition not counted") for n in notes)
    assert [t["type"] for t in conv.server_tools] == ["web_search_preview"]


def test_response_format_is_stated_as_not_in_the_prompt():
    body = {"messages": [{"role": "user", "content": "json please"}],
            "response_format": {"type": "json_object"}}
    assert render(body).conversation.assumptions() == [
        "response_format is enforced by the server, not written into the prompt; it is not counted"
    ]


RESPONSE_FORMAT_HEAD = (
    "\n\n## Response Format:\n\nYou MUST strictly adhere to the following schema to reply:\n"
)
PERSON = {"type": "json_schema", "json_schema": {"name": "person", "schema": {
    "type": "object", "properties": {"name": {"type": "string"}}}}}
PERSON_JSON = ('{"type": "json_schema", "json_schema": {"name": "person", "schema": '
               '{"type": "object", "properties": {"name": {"type": "string"}}}}}')


def test_response_format_a_system_message_carries_is_written_after_it():
    # DeepSeek's encoder reads `response_format` on a system or developer message (its own
    # message format) and writes it into the prompt; a request-level one it never sees.
    body = {"messages": [
        {"role": "system", "content": "Extract people.", "response_format": PERSON},
        {"role": "user", "content": "Ada met Alan."}]}
    rendered = render(body, thinking=False)
    assert rendered.text == (
        f"{BOS}Extract people.{RESPONSE_FORMAT_HEAD}{PERSON_JSON}"
        "<｜User｜>Ada met Alan.<｜Assistant｜></think>"
    )
    assert rendered.conversation.assumptions() == []


def test_response_format_comes_after_the_tools_block_of_the_same_system_message():
    body = {"messages": [
        {"role": "system", "content": "S", "response_format": {"type": "json_object"}},
        {"role": "user", "content": "Hi"}],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}
    text = render(body, thinking=True).text
    assert text.startswith(f"{BOS}S\n\n## Tools\n\nYou have access")
    assert text.endswith(
        '<functions>\n{"name": "f", "parameters": {}}\n</functions>\n'
        f'{RESPONSE_FORMAT_HEAD}{{"type": "json_object"}}<｜User｜>Hi<｜Assistant｜><think>'
    )


def test_response_format_on_a_developer_message_goes_before_the_users_message():
    body = {"messages": [
        {"role": "developer", "content": "Ada met Alan.", "response_format": PERSON}]}
    assert render(body, thinking=True).text == (
        f"{BOS}<｜User｜>{RESPONSE_FORMAT_HEAD}{PERSON_JSON}"
        "\n\n# The user's message is: Ada met Alan.<｜Assistant｜><think>"
    )


# --- endpoint mappings in detail -------------------------------------------------------------

def test_responses_string_input_and_instructions():
    body = {"instructions": "Be brief.", "input": "Hi"}
    assert render(body, thinking=False).text == f"{BOS}Be brief.<｜User｜>Hi<｜Assistant｜></think>"


def test_responses_reasoning_content_preferred_to_summary():
    body = {"input": [
        {"role": "user", "content": "q"},
        {"type": "reasoning", "summary": [{"type": "summary_text", "text": "short"}],
         "content": [{"type": "reasoning_text", "text": "long reasoning"}]},
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a"}]},
    ]}
    assert render(body).text.endswith("<think>long reasoning</think>a" + EOS)


def test_anthropic_system_blocks_concatenate_and_text_blocks_join_with_newline():
    body = {"system": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}],
            "messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                      {"type": "text", "text": "b"}]}]}
    expected = f"{BOS}One.Two.<｜User｜>a\nb<｜Assistant｜></think>"
    assert render(body, thinking=False).text == expected


def test_anthropic_tool_results_come_before_the_rest_of_their_user_message():
    body = {"system": "S", "messages": [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f",
                                           "input": {"x": 1}}]},
        {"role": "user", "content": [{"type": "text", "text": "and also"},
                                     {"type": "tool_result", "tool_use_id": "t1",
                                      "content": "ok"}]},
    ]}
    text = render(body, thinking=False).text
    assert text.endswith(
        "<function_results>\n<result>ok</result>\n</function_results>\n\n</think>"
        "<｜User｜>and also<｜Assistant｜></think>"
    )


def test_chat_content_parts_join_with_newline_and_legacy_function_call():
    body = {"messages": [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "assistant", "content": None,
         "function_call": {"name": "f", "arguments": "{\"q\": \"x\"}"}},
        {"role": "function", "name": "f", "content": "r"},
    ]}
    text = render(body, thinking=False).text
    assert "<｜User｜>a\nb<｜Assistant｜></think>" in text
    assert '<｜DSML｜parameter name="q" string="true">x</｜DSML｜parameter>' in text
    assert text.endswith("<result>r</result>\n</function_results>\n\n</think>")


def test_web_search_tools_are_not_rendered_as_functions():
    body = {"messages": [{"role": "user", "content": "news?"}],
            "tools": [{"type": "web_search"}]}
    conv = conversation(body)
    assert conv.tools == [] and conv.server_tools == [{"type": "web_search"}]
    assert "## Tools" not in render(body).text


# --- malformed bodies: one line naming the field ----------------------------------------------

@pytest.mark.parametrize("body, message", [
    ({"messages": []}, "messages must be a non-empty list"),
    ({"messages": "hi"}, "messages must be a non-empty list"),
    ({"messages": [{"content": "hi"}]}, r"messages\[0\]: missing field 'role'"),
    ({"messages": [{"role": "robot", "content": "hi"}]}, r"messages\[0\].role is 'robot'"),
    ({"messages": [{"role": "user", "content": 5}]},
     r"messages\[0\].content is a JSON number; expected a string or a list of parts"),
    ({"messages": [{"role": "user", "content": [{"text": "x"}]}]},
     r"messages\[0\].content\[0\]: missing field 'type'"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "{oops"}}]}]},
     r"messages\[1\].tool_calls\[0\].function.arguments is not valid JSON"),
    ({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": "[1]"}}]}]},
     "tool arguments must be an object"),
    ({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
     r"tools\[0\]: missing field 'function'"),
    ({"input": 3}, "input is a JSON number"),
    ({"input": [{"type": "function_call", "arguments": "{}"}]},
     r"input\[0\]: missing field 'name'"),
    ({"input": [{"type": "function_call_output", "call_id": "c"}]},
     r"input\[0\]: missing field 'output'"),
    ({"instructions": None, "input": None}, "missing field 'input'"),
])
def test_malformed_bodies(body, message):
    with pytest.raises(InputError, match=message):
        render(body)


def test_rendering_does_not_modify_the_body():
    body = load("messages_multiturn.json")
    before = copy.deepcopy(body)
    render(body)
    assert body == before


# --- Responses input items that servers merge into one assistant message ---------------------

OSLO_CALL = (
    "\n\n<｜DSML｜function_calls>\n"
    '<｜DSML｜invoke name="get_weather">\n'
    '<｜DSML｜parameter name="city" string="true">Oslo</｜DSML｜parameter>\n'
    "</｜DSML｜invoke>\n"
    "</｜DSML｜function_calls>"
)


def _oslo_items(*order: str) -> list[dict]:
    items = {
        "message": {"type": "message", "role": "assistant",
                    "content": [{"type": "output_text", "text": "Let me check."}]},
        "reasoning": {"type": "reasoning", "id": "rs_1",
                      "summary": [{"type": "summary_text", "text": "Need the tool."}]},
        "function_call": {"type": "function_call", "call_id": "c1", "name": "get_weather",
                          "arguments": "{\"city\": \"Oslo\"}"},
    }
    return [{"role": "user", "content": "Weather in Oslo?"}] + [items[k] for k in order]


@pytest.mark.parametrize("order", [
    ("message", "reasoning", "function_call"),
    ("reasoning", "message", "function_call"),
    ("reasoning", "function_call", "message"),
])
def test_responses_message_reasoning_and_call_are_one_assistant_turn(order):
    # vLLM's Responses conversion fills the previous assistant message while the field an item
    # brings (content, reasoning) is still empty and always appends a function call to it:
    # whatever the order, this is one model output, rendered once, ended by one EOS. The
    # counts are Hugging Face `tokenizers` on these texts (as two turns: 65 and 59).
    from costkit.tokens import count_tokens

    text = render({"input": _oslo_items(*order)}, thinking=True).text
    assert text == (
        f"{BOS}<｜User｜>Weather in Oslo?<｜Assistant｜><think>"
        f"Need the tool.</think>Let me check.{OSLO_CALL}{EOS}"
    )
    assert count_tokens(text) == 62
    text = render({"input": _oslo_items(*order)}, thinking=False).text
    assert text == (
        f"{BOS}<｜User｜>Weather in Oslo?<｜Assistant｜></think>Let me check.{OSLO_CALL}{EOS}"
    )
    assert count_tokens(text) == 57


def test_responses_items_that_fill_a_field_twice_start_a_new_assistant_turn():
    items = [{"role": "user", "content": "q"},
             {"type": "message", "role": "assistant", "content": "one"},
             {"type": "message", "role": "assistant", "content": "two"},
             {"type": "reasoning", "content": [{"type": "reasoning_text", "text": "r1"}]},
             {"type": "reasoning", "content": [{"type": "reasoning_text", "text": "r2"}]}]
    # "two" cannot join "one" (its content is taken); r1 fills the reasoning of "two", the
    # turn right before it; r2 finds that taken too and opens a turn of its own.
    assert render({"input": items}, thinking=True).text == (
        f"{BOS}<｜User｜>q<｜Assistant｜><think></think>one{EOS}r1</think>two{EOS}r2</think>{EOS}"
    )
