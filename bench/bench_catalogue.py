"""Product resolution and matching at 43 and at 50,000 products, beside the old linear scan.

Seeds the demo catalogue into a temporary SQLite database, measures, adds generated products
(realistic names: brand + series + feature + kind, aliases, model codes) and measures again:
    python bench/bench_catalogue.py [--products 50000] [--repeat 5]
Each figure is the latency of one service call (`resolve_product`, `match_products`) on a
read session, p50/p95 over the query set; "linear" is the implementation the index replaced
(the whole catalogue read and scanned per call), kept here as the reference. `--write-catalogue
PATH` also writes the big catalogue as a seed YAML file, for the NLU files at that size
(`scripts/build_nlu_catalogue.py --catalogue PATH ...` in a copy of the project).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mall.db import Database, upgrade  # noqa: E402
from mall.models import Product, Sku  # noqa: E402
from mall.seeding import seed  # noqa: E402
from mall.services import catalogue, text_match  # noqa: E402

# What customers send the resolve route: exact names and aliases, words inside a name, a
# name inside a phrase, ambiguous words ...
RESOLVE_QUERIES = [
    "声悦Pro降噪蓝牙耳机",
    "蓝牙耳机",
    "k87",
    "保温杯",
    "T恤",
    "降噪蓝牙",
    "开放式运动",
    "白色的T恤",
    "那个保温杯还有吗",
    "声悦",
]
# ... and typos and things not sold, answered with near matches (suggestions).
NEAR_QUERIES = ["降躁耳麦", "纯绵t恤", "iPhone 15", "洗衣机", "保湿霜"]
# Whole messages for the match route.
MATCH_TEXTS = [
    "运动耳机多少钱啊",
    "想问下充电宝和降噪耳机能一起发吗",
    "在吗？",
    "亲 那个不锈钢保温杯有没有优惠 我想买两个送人",
    "我上周买的T恤洗了一次就缩水了，怎么退货",
    "你好，请问这款声悦Pro降噪蓝牙耳机和Air开放式运动耳机有什么区别，哪个适合跑步",
]

_BRANDS = "云星悦华美佳乐康优品尚雅森海朗博凯欧琪维"
_SERIES = ["Pro", "Max", "Air", "Lite", "Plus", "Mini", "S", "X", "Ultra", "青春版", "旗舰版", ""]
_KINDS = {
    "digital": (
        ["降噪", "无线", "快充", "便携", "智能", "高清", "机械", "静音", "超薄", "磁吸"],
        ["耳机", "音箱", "充电宝", "键盘", "鼠标", "手表", "手环", "数据线", "路由器", "摄像头"],
    ),
    "apparel": (
        ["纯棉", "加厚", "宽松", "修身", "冰丝", "羊毛", "防风", "速干", "复古", "休闲"],
        ["T恤", "卫衣", "衬衫", "连衣裙", "牛仔裤", "羽绒服", "冲锋衣", "运动鞋", "袜子", "棒球帽"],
    ),
    "home": (
        ["不锈钢", "陶瓷", "玻璃", "实木", "折叠", "恒温", "真空", "北欧", "加大", "防滑"],
        ["保温杯", "马克杯", "炒锅", "收纳盒", "台灯", "枕头", "毛巾", "拖把", "四件套", "地垫"],
    ),
    "beauty": (
        ["保湿", "美白", "控油", "补水", "防晒", "修护", "氨基酸", "玻尿酸", "清爽", "滋润"],
        ["面霜", "精华", "洗面奶", "面膜", "口红", "防晒霜", "爽肤水", "眼霜", "身体乳", "护手霜"],
    ),
    "food": (
        ["有机", "低糖", "手工", "原味", "麻辣", "五香", "高山", "野生", "即食", "冻干"],
        ["坚果", "红茶", "绿茶", "蜂蜜", "牛肉干", "大米", "挂面", "咖啡", "果干", "燕麦片"],
    ),
    "appliance": (
        ["变频", "智能", "静音", "大容量", "迷你", "除菌", "免安装", "家用", "触控", "恒温"],
        ["电饭煲", "空气炸锅", "扫地机器人", "吸尘器", "加湿器", "电风扇", "净水器", "烧水壶"],
    ),
    "baby": (
        ["婴儿", "儿童", "防胀气", "加厚", "透气", "有机棉", "便携", "宽口径", "硅胶", "恒温"],
        ["奶瓶", "纸尿裤", "湿巾", "推车", "安全座椅", "连体衣", "牙胶", "辅食机", "爬行垫"],
    ),
}
_SUPPLIERS = {
    "digital": "sup-shenzhen-audio",
    "apparel": "sup-hangzhou-fashion",
    "beauty": "sup-guangzhou-beauty",
    "home": "sup-nantong-textile",
    "food": "sup-yunnan-food",
    "appliance": "sup-foshan-appliance",
    "baby": "sup-shanghai-baby",
}


def generated_products(count: int, taken: set[str], rng: random.Random) -> list[dict[str, Any]]:
    """`count` products with names and aliases unique among themselves and `taken`."""
    brands = [a + b for a in _BRANDS for b in _BRANDS if a != b]
    used = {word.lower() for word in taken}
    products: list[dict[str, Any]] = []
    while len(products) < count:
        category = rng.choice(list(_KINDS))
        features, kinds = _KINDS[category]
        brand, series = rng.choice(brands), rng.choice(_SERIES)
        feature, kind = rng.choice(features), rng.choice(kinds)
        name = f"{brand}{series}{feature}{kind}"
        if name.lower() in used:
            name = f"{name}{rng.randint(2, 9)}代"
            if name.lower() in used:
                continue
        used.add(name.lower())
        number = len(products) + 1
        aliases = []
        for alias in (f"{brand}{kind}", f"{brand}{feature}{kind}", f"{brand[0]}Y-{number:05d}"):
            if alias.lower() not in used:
                used.add(alias.lower())
                aliases.append(alias)
        price = Decimal(rng.randint(900, 99900)) / 100
        products.append(
            {
                "id": f"G{number:06d}",
                "name": name,
                "category": category,
                "supplier": _SUPPLIERS[category],
                "aliases": aliases,
                "list_price": float(price * Decimal("1.3")),
                "price": float(price),
                "skus": [{"color": rng.choice(["黑色", "白色", "灰色"]), "stock": 10}],
            }
        )
    return products


def add_products(database: Database, products: list[dict[str, Any]]) -> None:
    """Insert the products and their SKUs (with their stock) through the ORM, as seeding does
    (so the version token moves)."""
    for start in range(0, len(products), 5000):
        with database.write_session() as session:
            for row in products[start : start + 5000]:
                session.add(
                    Product(
                        id=row["id"],
                        name=row["name"],
                        category_id=row["category"],
                        supplier_id=row["supplier"],
                        aliases=row["aliases"],
                        list_price=Decimal(str(row["list_price"])),
                        price=Decimal(str(row["price"])),
                    )
                )
                for number, sku in enumerate(row["skus"], start=1):
                    session.add(
                        Sku(
                            id=f"{row['id']}-{number:02d}",
                            product_id=row["id"],
                            color=sku["color"],
                            stock=sku["stock"],
                        )
                    )


# ---- the linear implementation the index replaced (the reference) ----


@lru_cache(maxsize=4096)
def _linear_names_of(product_id: str, name: str, aliases: tuple[str, ...]) -> text_match.Names:
    return text_match.names_of(product_id, name, aliases)


def _linear_catalogue(session: Session) -> tuple[dict[str, Any], list[text_match.Names]]:
    rows = session.execute(
        select(
            Product.id,
            Product.name,
            Product.category_id,
            Product.price,
            Product.list_price,
            Product.aliases,
        ).order_by(Product.id)
    ).all()
    names = [_linear_names_of(p.id, p.name, tuple(p.aliases)) for p in rows]
    return {p.id: p for p in rows}, names


def linear_resolve(*, session: Session, q: str) -> catalogue.Resolution:
    """resolve_product as it was: the whole catalogue read and scanned per call."""
    query = text_match.normalise(q)
    by_id, names = _linear_catalogue(session)
    for finder in (
        text_match.exact_matches,
        text_match.query_inside_names,
        text_match.longest_mentions,
    ):
        ids = finder(query, names)
        if len(ids) == 1:
            product = catalogue.get_product(session=session, product_id=ids[0])
            return catalogue.Resolution(product=product)
        if ids:
            return catalogue.Resolution(product=None, suggestions=[by_id[i] for i in ids[:3]])
    near = text_match.near_matches(query, names)
    return catalogue.Resolution(product=None, suggestions=[by_id[i] for i in near])


def linear_match(*, session: Session, text: str) -> list[Any]:
    """match_products as it was."""
    by_id, names = _linear_catalogue(session)
    return [by_id[i] for i in text_match.mentions(text_match.normalise(text), names)]


# ---- measuring ----


def _answers(resolution: catalogue.Resolution) -> tuple[str | None, list[str]]:
    product = resolution.product.id if resolution.product is not None else None
    return product, [row.id for row in resolution.suggestions]


def timed(
    database: Database, call: Callable[..., Any], inputs: list[str], key: str, repeat: int
) -> tuple[list[float], list[Any]]:
    """Latencies of `call(session=..., key=input)` over `inputs`, `repeat` rounds, and answers."""
    latencies: list[float] = []
    answers: list[Any] = []
    for round_number in range(repeat):
        for value in inputs:
            with database.read_session() as session:
                started = time.perf_counter()
                answer = call(session=session, **{key: value})
                latencies.append(time.perf_counter() - started)
                if round_number == 0:
                    answers.append(_answers(answer) if key == "q" else [row.id for row in answer])
    return latencies, answers


def _pct(values: list[float], percentile: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[percentile - 1] * 1000


def main() -> None:
    """Measure at both sizes and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=50_000, help="catalogue size to reach")
    parser.add_argument("--repeat", type=int, default=5, help="rounds over the query set")
    parser.add_argument("--linear-repeat", type=int, default=1, help="rounds for the reference")
    parser.add_argument("--write-catalogue", type=Path, help="also write the big seed catalogue")
    args = parser.parse_args()
    rng = random.Random(20261202)
    demo = yaml.safe_load((ROOT / "mall" / "seed" / "catalogue.yml").read_text(encoding="utf-8"))
    calls: dict[str, tuple[Callable[..., Any], list[str], str]] = {
        "resolve, index": (catalogue.resolve_product, RESOLVE_QUERIES, "q"),
        "resolve, linear scan (before)": (linear_resolve, RESOLVE_QUERIES, "q"),
        "near matches, index": (catalogue.resolve_product, NEAR_QUERIES, "q"),
        "near matches, linear scan (before)": (linear_resolve, NEAR_QUERIES, "q"),
        "match, index": (catalogue.match_products, MATCH_TEXTS, "text"),
        "match, linear scan (before)": (linear_match, MATCH_TEXTS, "text"),
    }
    figures: dict[str, dict[int, list[float]]] = {name: {} for name in calls}
    builds: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="mall-bench-catalogue-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'mall.db'}"
        upgrade(url)
        database = Database(url)
        with database.write_session() as session:
            seed(session=session)
        sizes = [len(demo["products"]), args.products]
        for size in sizes:
            if size > sizes[0]:
                taken = {p["name"] for p in demo["products"]}
                taken |= {str(a) for p in demo["products"] for a in p.get("aliases", [])}
                products = generated_products(size - sizes[0], taken, rng)
                print(f"adding {len(products)} generated products ...", flush=True)
                add_products(database, products)
                if args.write_catalogue:
                    document = {**demo, "products": demo["products"] + products}
                    args.write_catalogue.write_text(
                        yaml.safe_dump(document, allow_unicode=True, sort_keys=False),
                        encoding="utf-8",
                    )
            with database.read_session() as session:
                started = time.perf_counter()
                catalogue.resolve_product(session=session, q="蓝牙耳机")  # builds the index
                builds[size] = time.perf_counter() - started
            answers: dict[str, list[Any]] = {}
            for name, (call, inputs, key) in calls.items():
                repeat = args.linear_repeat if "linear" in name else args.repeat
                figures[name][size], answers[name] = timed(database, call, inputs, key, repeat)
            # At the demo size the index must answer exactly as the scan did.
            for kind in ("resolve", "near matches", "match"):
                same = answers[f"{kind}, index"] == answers[f"{kind}, linear scan (before)"]
                print(f"{size} products, {kind}: index and linear scan agree: {same}")
        database.dispose()

    small, big = sizes
    header = ["", f"{small} p50 ms", f"{small} p95 ms", f"{big} p50 ms", f"{big} p95 ms", "p50 x"]
    rows = []
    for name, by_size in figures.items():
        p50_small, p50_big = _pct(by_size[small], 50), _pct(by_size[big], 50)
        rows.append(
            [
                name,
                f"{p50_small:.2f}",
                f"{_pct(by_size[small], 95):.2f}",
                f"{p50_big:.2f}",
                f"{_pct(by_size[big], 95):.2f}",
                f"{p50_big / p50_small:.2f}",
            ]
        )
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        f"\n{len(RESOLVE_QUERIES)} resolve queries naming a product, {len(NEAR_QUERIES)} typos or "
        f"unknown products (near matches) and {len(MATCH_TEXTS)} messages, one service call "
        f"each on a read session (SQLite file); index built in {builds[small] * 1000:.0f} ms "
        f"at {small} products and {builds[big] * 1000:.0f} ms at {big} (once per process and "
        "catalogue change)."
    )


if __name__ == "__main__":
    main()
