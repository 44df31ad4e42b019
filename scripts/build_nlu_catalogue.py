"""Build the catalogue-derived NLU files from the mall catalogue.

Reads product names, aliases, SKU colours and SKU sizes from the catalogue and writes:

- ``data/jieba/catalogue.dict``: a Jieba user dictionary (``word freq tag`` per line) so the
  JiebaTokenizer keeps product names, aliases, colours and sizes whole. The tokenizer loads every
  file in ``data/jieba/`` (config.yml ``dictionary_path``), so nothing else may live there.
- ``data/nlu/catalogue.yml``: Rasa NLU lookup tables (``product``, ``color``, ``size``) and one
  synonym per product mapping its aliases to the canonical name (for EntitySynonymMapper).

Both files are sorted so the output only changes when the catalogue does.

Usage::

    python scripts/build_nlu_catalogue.py [--catalogue mall/seed/catalogue.yml] [--check]

``--check`` writes nothing and exits 1 when the committed files differ from the catalogue.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOGUE = REPO_ROOT / "mall" / "seed" / "catalogue.yml"
DEFAULT_JIEBA_DICT = REPO_ROOT / "data" / "jieba" / "catalogue.dict"
DEFAULT_NLU_FILE = REPO_ROOT / "data" / "nlu" / "catalogue.yml"
REGENERATE_COMMAND = "python scripts/build_nlu_catalogue.py"

# A high frequency makes Jieba prefer the whole term over any split of it; Jieba's own
# dictionary gives common two-character words a few thousand at most.
JIEBA_FREQUENCY = 20000
JIEBA_TAG_PRODUCT = "nz"
JIEBA_TAG_ATTRIBUTE = "n"

# Jieba cuts text into blocks of these characters before it consults the dictionary
# (jieba.re_han_default), so a term with any other character can never stay whole.
_JIEBA_BLOCK = re.compile(r"[\u4E00-\u9FD5a-zA-Z0-9+#&._%\-]+")
# Jieba already keeps runs of ASCII letters and digits whole; adding such a term (``42``,
# ``XL``) to the dictionary would make Jieba split longer runs such as order numbers.
_ASCII_RUN = re.compile(r"[A-Za-z0-9+#&._%\-]+")


class CatalogueError(ValueError):
    """The catalogue cannot be turned into NLU data (missing fields, clashing aliases)."""


@dataclass(frozen=True)
class CatalogueTerms:
    """The words customers use for catalogue items, as the NLU data needs them."""

    products: dict[str, tuple[str, ...]]  # canonical product name -> its aliases
    colors: tuple[str, ...]
    sizes: tuple[str, ...]

    def product_words(self) -> list[str]:
        """All product names and aliases, sorted, without duplicates."""
        words = set(self.products)
        for aliases in self.products.values():
            words.update(aliases)
        return sorted(words)


def _term(value: Any, where: str) -> str:
    """Return a catalogue value as a clean one-line string, or raise CatalogueError."""
    if value is None or isinstance(value, dict | list | bool):
        raise CatalogueError(f"{where}: expected a text value, got {value!r}")
    text = str(value).strip()
    if not text or "\n" in text:
        raise CatalogueError(f"{where}: empty or multi-line value {value!r}")
    return text


def parse_catalogue(document: Any) -> CatalogueTerms:
    """Collect product names, aliases, colours and sizes from a parsed catalogue document."""
    if not isinstance(document, dict) or not isinstance(document.get("products"), list):
        raise CatalogueError("the catalogue has no 'products' list")

    products: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}  # lower-cased word -> canonical name it belongs to
    colors: set[str] = set()
    sizes: set[str] = set()

    for index, product in enumerate(document["products"]):
        if not isinstance(product, dict):
            raise CatalogueError(f"products[{index}]: expected a mapping")
        where = f"product {product.get('id', index)}"
        name = _term(product.get("name"), f"{where} name")
        aliases = [_term(alias, f"{where} alias") for alias in product.get("aliases") or []]

        # EntitySynonymMapper compares lower-cased values, so a word may point to one product.
        for word in [name, *aliases]:
            previous = owner.setdefault(word.lower(), name)
            if previous != name:
                raise CatalogueError(
                    f"{where}: {word!r} is already used by {previous!r}; "
                    "a name or alias must belong to one product"
                )
        products[name] = tuple(sorted({alias for alias in aliases if alias != name}))

        for sku in product.get("skus") or []:
            if not isinstance(sku, dict):
                raise CatalogueError(f"{where}: every sku must be a mapping")
            if sku.get("color") is not None:
                colors.add(_term(sku["color"], f"{where} sku color"))
            if sku.get("size") is not None:
                sizes.add(_term(sku["size"], f"{where} sku size"))

    if not products:
        raise CatalogueError("the catalogue lists no products")
    return CatalogueTerms(
        products=dict(sorted(products.items())),
        colors=tuple(sorted(colors)),
        sizes=tuple(sorted(sizes)),
    )


def load_catalogue(path: Path) -> CatalogueTerms:
    """Read and parse the catalogue YAML file at ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogueError(f"cannot read the catalogue {path}: {error.strerror}") from error
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise CatalogueError(f"{path} is not valid YAML: {error}") from error
    return parse_catalogue(document)


def jieba_keeps_whole(word: str) -> bool:
    """Whether a dictionary entry for ``word`` makes Jieba keep it as one token."""
    return (
        len(word) > 1
        and _JIEBA_BLOCK.fullmatch(word) is not None
        and _ASCII_RUN.fullmatch(word) is None
    )


def render_jieba_dict(terms: CatalogueTerms) -> str:
    """Render the Jieba user dictionary: one ``word freq tag`` line per term, sorted."""
    # Jieba reads every line as an entry, so the file cannot carry a header comment.
    tags: dict[str, str] = {}
    for word in terms.product_words():
        tags.setdefault(word, JIEBA_TAG_PRODUCT)
    for word in [*terms.colors, *terms.sizes]:
        tags.setdefault(word, JIEBA_TAG_ATTRIBUTE)
    lines = [
        f"{word} {JIEBA_FREQUENCY} {tag}"
        for word, tag in sorted(tags.items())
        if jieba_keeps_whole(word)
    ]
    return "".join(f"{line}\n" for line in lines)


def _lookup_values(words: Iterable[str]) -> list[str]:
    # The RegexFeaturizer matches lookups without word boundaries (Chinese has none), so a
    # one-letter value such as size "M" would mark every word that contains an "m".
    return sorted({word for word in words if len(word) > 1})


def _examples_block(words: Sequence[str]) -> list[str]:
    return ["    examples: |", *(f"      - {word}" for word in words)]


def render_nlu_file(terms: CatalogueTerms, source: str) -> str:
    """Render the Rasa NLU file with the lookup tables and the alias synonyms."""
    lines = [
        f"# Generated from {source} by scripts/build_nlu_catalogue.py: do not edit by hand.",
        f"# Regenerate after changing the catalogue: {REGENERATE_COMMAND}",
        'version: "3.1"',
        "",
        "nlu:",
        "  - lookup: product",
        *_examples_block(_lookup_values(terms.product_words())),
        "",
        "  - lookup: color",
        *_examples_block(_lookup_values(terms.colors)),
        "",
        "  - lookup: size",
        *_examples_block(_lookup_values(terms.sizes)),
    ]
    for name, aliases in terms.products.items():
        if aliases:
            lines += ["", f"  - synonym: {name}", *_examples_block(aliases)]
    return "\n".join(lines) + "\n"


def _display_path(path: Path) -> str:
    """Show ``path`` relative to the repository when it lies inside it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def build_outputs(catalogue: Path, jieba_dict: Path, nlu_file: Path) -> dict[Path, str]:
    """Return the content each generated file should have for ``catalogue``."""
    terms = load_catalogue(catalogue)
    return {
        jieba_dict: render_jieba_dict(terms),
        nlu_file: render_nlu_file(terms, _display_path(catalogue)),
    }


def stale_files(outputs: dict[Path, str]) -> list[Path]:
    """The generated files that are missing or differ from what they should contain."""
    stale = []
    for path, content in outputs.items():
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != content:
            stale.append(path)
    return stale


def write_outputs(outputs: dict[Path, str]) -> None:
    """Write every generated file, creating its folder when needed."""
    for path, content in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        description="Generate the Jieba dictionary and NLU lookups/synonyms from the catalogue."
    )
    parser.add_argument("--catalogue", type=Path, default=DEFAULT_CATALOGUE)
    parser.add_argument("--jieba-dict", type=Path, default=DEFAULT_JIEBA_DICT)
    parser.add_argument("--nlu-file", type=Path, default=DEFAULT_NLU_FILE)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 when the generated files are out of date",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Generate (or with --check, verify) the catalogue-derived NLU files."""
    args = parse_args(argv)
    try:
        outputs = build_outputs(args.catalogue, args.jieba_dict, args.nlu_file)
    except CatalogueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2

    stale = stale_files(outputs)
    if args.check:
        if stale:
            names = ", ".join(_display_path(path) for path in stale)
            print(
                f"error: {names} out of date with {_display_path(args.catalogue)}; "
                f"run `{REGENERATE_COMMAND}` and commit the result",
                file=sys.stderr,
            )
            return 1
        print("catalogue NLU files are up to date")
        return 0

    write_outputs(outputs)
    for path in outputs:
        state = "updated" if path in stale else "unchanged"
        print(f"{_display_path(path)}: {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
