"""A/B tests of sales lines: the experiments file, stable assignment and the statistics.

An experiment names the line it varies (a domain response or a sales-line template), its
variants with weights, the outcome that counts as a conversion and the sample it plans for:

    experiments:
      - id: price_line_2026w49
        line: utter_price_quote
        metric: coupon_claim            # coupon_claim | order_7d | reply
        planned_per_variant: 400
        variants:
          - {id: battery, weight: 1}    # "续航10小时"
          - {id: award, weight: 1}      # "获国际大奖"
          - {id: plain, weight: 1, stopped: true}

A customer's variant is a hash of the experiment id and the customer id: the same customer
sees the same variant on every turn, in every process and after every restart, and adding an
experiment does not reshuffle another. A stopped variant gets no new customers (they fall to
the others by weight); customers already exposed to it keep being counted.

The report compares each variant with the first one (the control): conversion rate with a
95 % Wilson interval and the two-sided p-value of a two-proportion z-test.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from scipy.stats import norm

logger = logging.getLogger(__name__)

METRICS = ("coupon_claim", "order_7d", "reply")

DEFAULT_FILE = Path(__file__).with_name("experiments.yml")


class ExperimentConfigError(ValueError):
    """The experiments file is malformed; the message names the experiment and the field."""


@dataclass(frozen=True)
class Variant:
    id: str
    weight: float
    stopped: bool = False


@dataclass(frozen=True)
class Experiment:
    id: str
    line: str
    metric: str
    variants: tuple[Variant, ...]
    planned_per_variant: int = 0

    @property
    def control(self) -> Variant:
        return self.variants[0]

    def live_variants(self) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if not v.stopped and v.weight > 0)

    def assign(self, customer_id: str) -> Variant | None:
        """The customer's variant, or None when every variant is stopped."""
        live = self.live_variants()
        if not live:
            return None
        total = sum(v.weight for v in live)
        point = _unit_hash(f"{self.id}\x1f{customer_id}") * total
        for variant in live:
            point -= variant.weight
            if point < 0:
                return variant
        return live[-1]


def _unit_hash(key: str) -> float:
    """A number in [0, 1) from a SHA-256 of the key: the same everywhere, always."""
    digest = hashlib.sha256(key.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


class ExperimentBook:
    """The experiments file as the running mall sees it: re-read when it changes on disk.

    Stopping a variant is an edit of the file (`stopped: true`) on the server: the next
    assignment honours it, without a restart or a deploy. A broken edit is logged and the last
    good version stays in force, so a typo never stops every experiment at once.
    """

    def __init__(self, path: Path = DEFAULT_FILE) -> None:
        self.path = path
        self._stamp: tuple[int, int] | None = None
        self._experiments: tuple[Experiment, ...] = ()

    def current(self) -> tuple[Experiment, ...]:
        """The experiments now in force."""
        try:
            stat = self.path.stat()
        except OSError:
            self._stamp, self._experiments = None, ()
            return ()
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp != self._stamp:
            try:
                self._experiments = load_experiments(self.path)
            except ExperimentConfigError as error:
                logger.error("experiments file not reloaded, the last good one stays: %s", error)
            self._stamp = stamp
        return self._experiments

    def for_line(self, line: str) -> Experiment | None:
        """The experiment that varies `line`, if one does and it has a live variant."""
        for experiment in self.current():
            if experiment.line == line and experiment.live_variants():
                return experiment
        return None


def load_experiments(path: Path = DEFAULT_FILE) -> tuple[Experiment, ...]:
    """Read and check the experiments file; a missing file means no experiments."""
    if not path.is_file():
        return ()
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ExperimentConfigError(f"{path}: not valid YAML: {error}") from None
    return parse_experiments(document, source=str(path))


def parse_experiments(document: Any, *, source: str = "experiments") -> tuple[Experiment, ...]:
    """Experiments from the parsed YAML document, or ExperimentConfigError naming the fault."""
    if not isinstance(document, dict) or not isinstance(document.get("experiments", []), list):
        raise ExperimentConfigError(f"{source}: expected a mapping with a list `experiments`")
    experiments: list[Experiment] = []
    seen: set[str] = set()
    for index, raw in enumerate(document.get("experiments") or []):
        where = f"{source}: experiment #{index + 1}"
        if not isinstance(raw, dict):
            raise ExperimentConfigError(f"{where}: expected a mapping")
        experiment_id = raw.get("id")
        if not isinstance(experiment_id, str) or not experiment_id.strip():
            raise ExperimentConfigError(f"{where}: `id` must be a non-empty string")
        where = f"{source}: experiment {experiment_id!r}"
        if experiment_id in seen:
            raise ExperimentConfigError(f"{where}: the id is used twice")
        seen.add(experiment_id)
        line = raw.get("line")
        if not isinstance(line, str) or not line.strip():
            raise ExperimentConfigError(f"{where}: `line` must name a response or template")
        metric = raw.get("metric")
        if metric not in METRICS:
            raise ExperimentConfigError(f"{where}: `metric` must be one of {', '.join(METRICS)}")
        planned = raw.get("planned_per_variant", 0)
        if not isinstance(planned, int) or isinstance(planned, bool) or planned < 0:
            raise ExperimentConfigError(f"{where}: `planned_per_variant` must be a whole number")
        variants = _parse_variants(raw.get("variants"), where)
        experiments.append(Experiment(experiment_id, line, metric, variants, planned))
    return tuple(experiments)


def _parse_variants(raw: Any, where: str) -> tuple[Variant, ...]:
    if not isinstance(raw, list) or len(raw) < 2:
        raise ExperimentConfigError(f"{where}: `variants` needs at least two entries")
    variants: list[Variant] = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
            raise ExperimentConfigError(f"{where}: every variant needs a string `id`")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0:
            raise ExperimentConfigError(
                f"{where}: variant {item['id']!r} needs a weight >= 0, got {weight!r}"
            )
        stopped = item.get("stopped", False)
        if not isinstance(stopped, bool):
            raise ExperimentConfigError(f"{where}: variant {item['id']!r}: `stopped` is yes/no")
        variants.append(Variant(item["id"], float(weight), stopped))
    ids = [v.id for v in variants]
    if len(set(ids)) != len(ids):
        raise ExperimentConfigError(f"{where}: variant ids must differ")
    return tuple(variants)


# --- statistics -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson_interval(conversions: int, exposures: int, confidence: float = 0.95) -> Interval:
    """The Wilson score interval of a conversion rate (sound for small and extreme counts)."""
    _check_counts(conversions, exposures)
    if exposures == 0:
        return Interval(0.0, 1.0)
    z = float(norm.ppf(1 - (1 - confidence) / 2))
    rate = conversions / exposures
    denominator = 1 + z * z / exposures
    centre = (rate + z * z / (2 * exposures)) / denominator
    spread = z * math.sqrt(rate * (1 - rate) / exposures + z * z / (4 * exposures**2))
    spread /= denominator
    return Interval(max(0.0, centre - spread), min(1.0, centre + spread))


def two_proportion_p_value(
    conversions_a: int, exposures_a: int, conversions_b: int, exposures_b: int
) -> float | None:
    """Two-sided p-value of the pooled two-proportion z-test; None when it is undefined."""
    _check_counts(conversions_a, exposures_a)
    _check_counts(conversions_b, exposures_b)
    if exposures_a == 0 or exposures_b == 0:
        return None
    pooled = (conversions_a + conversions_b) / (exposures_a + exposures_b)
    variance = pooled * (1 - pooled) * (1 / exposures_a + 1 / exposures_b)
    if variance == 0:
        return 1.0
    z = (conversions_a / exposures_a - conversions_b / exposures_b) / math.sqrt(variance)
    return float(2 * norm.sf(abs(z)))


def sample_size_per_variant(
    baseline_rate: float, minimum_lift: float, *, alpha: float = 0.05, power: float = 0.8
) -> int:
    """Customers per variant to detect baseline -> baseline + lift (two-sided test)."""
    target = baseline_rate + minimum_lift
    if not 0 < baseline_rate < 1 or not 0 < target < 1 or minimum_lift == 0:
        raise ValueError("need 0 < baseline < 1, 0 < baseline + lift < 1 and a non-zero lift")
    z_alpha = float(norm.ppf(1 - alpha / 2))
    z_beta = float(norm.ppf(power))
    mean = (baseline_rate + target) / 2
    numerator = (
        z_alpha * math.sqrt(2 * mean * (1 - mean))
        + z_beta * math.sqrt(baseline_rate * (1 - baseline_rate) + target * (1 - target))
    ) ** 2
    return math.ceil(numerator / minimum_lift**2)


def _check_counts(conversions: int, exposures: int) -> None:
    if exposures < 0 or conversions < 0 or conversions > exposures:
        raise ValueError(f"need 0 <= conversions <= exposures, got {conversions}/{exposures}")


@dataclass(frozen=True)
class VariantResult:
    variant: str
    exposures: int
    conversions: int
    rate: float
    interval: Interval
    p_value: float | None  # against the control; None for the control itself
    stopped: bool


def report(
    experiment: Experiment, counts: dict[str, tuple[int, int]]
) -> tuple[tuple[VariantResult, ...], bool]:
    """Each variant's figures from {variant: (exposures, conversions)}, and whether the
    planned sample is reached by every live variant."""
    control_exposures, control_conversions = counts.get(experiment.control.id, (0, 0))
    results = []
    for variant in experiment.variants:
        exposures, conversions = counts.get(variant.id, (0, 0))
        is_control = variant.id == experiment.control.id
        results.append(
            VariantResult(
                variant=variant.id,
                exposures=exposures,
                conversions=conversions,
                rate=conversions / exposures if exposures else 0.0,
                interval=wilson_interval(conversions, exposures),
                p_value=None
                if is_control
                else two_proportion_p_value(
                    control_conversions, control_exposures, conversions, exposures
                ),
                stopped=variant.stopped,
            )
        )
    live = {v.id for v in experiment.live_variants()}
    reached = experiment.planned_per_variant > 0 and all(
        r.exposures >= experiment.planned_per_variant for r in results if r.variant in live
    )
    return tuple(results), reached


def format_report(experiment: Experiment, results: Sequence[VariantResult], reached: bool) -> str:
    """The plain-text table `python -m mall experiments` prints."""
    lines = [
        f"{experiment.id}: {experiment.line}, metric {experiment.metric}"
        + (
            f", planned {experiment.planned_per_variant} per variant"
            + (" (reached)" if reached else " (not reached yet)")
            if experiment.planned_per_variant
            else ""
        ),
        f"  {'variant':<14}{'exposed':>9}{'converted':>11}{'rate':>8}  {'95% interval':<15}"
        f"{'p vs ' + experiment.control.id:>14}",
    ]
    for r in results:
        p_value = "control" if r.p_value is None else f"{r.p_value:.4f}"
        interval = f"{r.interval.low:.3f}-{r.interval.high:.3f}"
        stopped = "  (stopped)" if r.stopped else ""
        lines.append(
            f"  {r.variant:<14}{r.exposures:>9}{r.conversions:>11}{r.rate:>8.3f}  {interval:<15}"
            f"{p_value:>14}{stopped}"
        )
    return "\n".join(lines)
