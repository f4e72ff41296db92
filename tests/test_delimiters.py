"""One table of CSV delimiters (costkit.readers.mappings.KNOWN_DELIMITERS): the ones the
sniffer looks for on a header line are the ones `--delimiter` knows by name, and the CSV
reader sniffs with that one function."""

from __future__ import annotations

import pytest

from costkit.readers import csv_mapped, mappings


@pytest.mark.parametrize(("header", "found"), [
    ("ts,model,input_tokens,output_tokens", ","),
    ("ts;model;input_tokens;output_tokens", ";"),
    ("ts\tmodel\tinput_tokens\toutput_tokens", "\t"),
    ("ts|model|input_tokens|output_tokens", "|"),
    ('"a;b",c,d', ","),  # a ; inside quotes is no delimiter
    ("ts;model,input_tokens", ","),  # as many of two: the first in the table's order
    ("\ufeffts;model;input", ";"),  # a byte-order mark before the header
    ("\n\nts|model|input", "|"),  # blank lines before the header
    ("timestamp", ","),  # one column: the default
])
def test_the_sniffer_finds_each_known_delimiter(header, found):
    assert mappings.detect_delimiter(header.encode()) == found


@pytest.mark.parametrize(("given", "char"), [
    ("tab", "\t"), ("TAB", "\t"), ("\\t", "\t"), ("comma", ","), ("semicolon", ";"),
    ("pipe", "|"), (";", ";"), ("^", "^"),
])
def test_delimiter_names(given, char):
    assert mappings.check_delimiter(given) == char


def test_the_sniffer_and_the_names_read_one_table():
    assert set(mappings.DELIMITERS.values()) == set(mappings.KNOWN_DELIMITERS)
    assert list(mappings.KNOWN_DELIMITERS) == [",", ";", "\t", "|"]
    assert csv_mapped.detect_delimiter is mappings.detect_delimiter
