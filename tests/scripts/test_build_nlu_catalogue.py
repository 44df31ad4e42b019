"""The catalogue -> Jieba dictionary / NLU lookups generator, run as trainers run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "scripts" / "build_nlu_catalogue.py"

TINY_CATALOGUE = """
products:
  - id: P1
    name: 声悦Pro降噪蓝牙耳机
    aliases: [蓝牙耳机, 耳机]
    skus:
      - {color: 白色, stock: 3}
      - {color: 薄荷绿, stock: 0}
  - id: P2
    name: 织锦纯棉圆领T恤
    aliases: [T恤, t恤, 短袖]
    skus:
      - {color: 白色, size: M, stock: 1}
      - {color: 白色, size: XL, stock: 1}
  - id: P3
    name: 南通长绒棉四件套
    aliases: []
    skus:
      - {size: 1.8m床, stock: 2}
      - {size: "42", stock: 2}
"""


def run_script(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the generator in a fresh interpreter, as `make` and CI do."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def generate(tmp_path: Path, catalogue_text: str = TINY_CATALOGUE) -> tuple[Path, Path, Path]:
    """Generate the files for ``catalogue_text`` under ``tmp_path``; return all three paths."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    catalogue = tmp_path / "catalogue.yml"
    catalogue.write_text(catalogue_text, encoding="utf-8")
    jieba_dict = tmp_path / "jieba" / "catalogue.dict"
    nlu_file = tmp_path / "nlu" / "catalogue.yml"
    result = run_script(
        "--catalogue", catalogue, "--jieba-dict", jieba_dict, "--nlu-file", nlu_file
    )
    assert result.returncode == 0, result.stderr
    return catalogue, jieba_dict, nlu_file


def examples(block: str) -> list[str]:
    """The items of a Rasa `examples: |` block."""
    return [line.removeprefix("- ").strip() for line in block.splitlines() if line.strip()]


def test_committed_files_match_the_demo_catalogue() -> None:
    result = run_script("--check")
    assert result.returncode == 0, result.stderr


def test_jieba_dictionary_lists_multi_character_terms_sorted(tmp_path: Path) -> None:
    _, jieba_dict, _ = generate(tmp_path)
    lines = jieba_dict.read_text(encoding="utf-8").splitlines()
    words = [line.split(" ")[0] for line in lines]

    assert words == sorted(words)
    assert {"声悦Pro降噪蓝牙耳机", "蓝牙耳机", "T恤", "薄荷绿", "白色", "1.8m床"} <= set(words)
    # One-letter sizes cannot be split anyway; pure digit/letter runs would split order ids.
    assert not {"M", "XL", "42"} & set(words)
    for line in lines:
        word, freq, tag = line.split(" ")
        assert int(freq) > 0 and tag.isalpha() and tag.islower()


def test_nlu_file_has_lookups_and_alias_synonyms(tmp_path: Path) -> None:
    _, _, nlu_file = generate(tmp_path)
    text = nlu_file.read_text(encoding="utf-8")
    assert text.startswith("# Generated from ")
    assert "python scripts/build_nlu_catalogue.py" in text.splitlines()[1]

    items = yaml.safe_load(text)["nlu"]
    lookups = {item["lookup"]: examples(item["examples"]) for item in items if "lookup" in item}
    synonyms = {item["synonym"]: examples(item["examples"]) for item in items if "synonym" in item}

    assert lookups["product"] == sorted(lookups["product"])
    assert "蓝牙耳机" in lookups["product"] and "南通长绒棉四件套" in lookups["product"]
    assert lookups["color"] == ["白色", "薄荷绿"]
    assert lookups["size"] == ["1.8m床", "42", "XL"]
    assert synonyms == {
        "声悦Pro降噪蓝牙耳机": ["耳机", "蓝牙耳机"],
        "织锦纯棉圆领T恤": ["T恤", "t恤", "短袖"],
    }


def test_generation_is_deterministic(tmp_path: Path) -> None:
    _, jieba_dict, nlu_file = generate(tmp_path / "first")
    _, jieba_again, nlu_again = generate(tmp_path / "second")
    assert jieba_dict.read_bytes() == jieba_again.read_bytes()
    assert nlu_file.read_text().splitlines()[2:] == nlu_again.read_text().splitlines()[2:]


def test_check_reports_stale_files_without_touching_them(tmp_path: Path) -> None:
    catalogue, jieba_dict, nlu_file = generate(tmp_path)
    args = ("--catalogue", catalogue, "--jieba-dict", jieba_dict, "--nlu-file", nlu_file)
    assert run_script(*args, "--check").returncode == 0

    catalogue.write_text(TINY_CATALOGUE.replace("短袖", "体恤"), encoding="utf-8")
    before = nlu_file.read_text(encoding="utf-8")
    result = run_script(*args, "--check")

    assert result.returncode == 1
    assert "out of date" in result.stderr and "build_nlu_catalogue.py" in result.stderr
    assert nlu_file.read_text(encoding="utf-8") == before


def test_check_reports_a_missing_file(tmp_path: Path) -> None:
    catalogue, jieba_dict, nlu_file = generate(tmp_path)
    jieba_dict.unlink()
    result = run_script(
        "--catalogue", catalogue, "--jieba-dict", jieba_dict, "--nlu-file", nlu_file, "--check"
    )
    assert result.returncode == 1
    assert "catalogue.dict" in result.stderr


def test_alias_shared_by_two_products_is_refused(tmp_path: Path) -> None:
    clash = TINY_CATALOGUE.replace("aliases: [T恤, t恤, 短袖]", "aliases: [T恤, 耳机]")
    catalogue = tmp_path / "catalogue.yml"
    catalogue.write_text(clash, encoding="utf-8")
    out = tmp_path / "out.yml"
    result = run_script("--catalogue", catalogue, "--jieba-dict", out, "--nlu-file", out)

    assert result.returncode == 2
    assert "'耳机'" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_catalogue_is_a_clear_error(tmp_path: Path) -> None:
    result = run_script("--catalogue", tmp_path / "nope.yml", "--check")
    assert result.returncode == 2
    assert "cannot read the catalogue" in result.stderr and "Traceback" not in result.stderr
