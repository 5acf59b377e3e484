"""Properties of the survey parser and statistics (hypothesis)."""

from __future__ import annotations

import csv
import io
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from fleetwise.analyze.survey import (
    bootstrap,
    enps_rows,
    holm,
    mann_whitney,
    mean_rows,
    rank_biserial,
    ranks,
)
from fleetwise.collect.importers.notes import inline_tags
from fleetwise.collect.importers.survey import LABELS, QuestionMap, parse

likert = st.lists(st.integers(1, 5), min_size=2, max_size=40)
LABEL_OF = {v: k for k, v in LABELS["likert5"].items() if k not in ("neutral",)}
LABEL_OF[3] = "Neither agree nor disagree"


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(1, 5),
            st.booleans(),
            st.integers(0, 10),
            st.text(
                alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30
            ),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_google_forms_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rows: list[tuple[int, bool, int, str]]
) -> None:
    """Answers written as a Google Forms export (labels or numbers, text with commas and
    quotes) come back as the numbers and texts written."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Timestamp", "Agree?", "Recommend?", "Why?"])
    for i, (v, as_label, nps, text) in enumerate(rows):
        answer = LABEL_OF[v].title() if as_label else str(v)
        w.writerow([f"10/{1 + i % 28}/2026 9:14:03", answer, str(nps), text])
    path = tmp_path_factory.mktemp("survey") / "export.csv"
    path.write_text(buf.getvalue(), encoding="utf-8")
    qmap = QuestionMap.model_validate(
        {
            "items": [
                {"question": "Agree?", "key": "a", "scale": "likert5"},
                {"question": "Recommend?", "key": "n", "scale": "nps0-10"},
                {"question": "Why?", "key": "t", "scale": "text"},
            ]
        }
    )
    export = parse(path, qmap)
    assert [r.answers["a"] for r in export.responses] == [float(v) for v, *_ in rows]
    assert [r.answers["n"] for r in export.responses] == [float(r[2]) for r in rows]
    assert [r.answers.get("t", "") for r in export.responses] == [
        r[3].strip() if r[3].strip() else "" for r in rows
    ]


@settings(max_examples=80, deadline=None)
@given(a=likert, b=likert)
def test_mann_whitney_matches_scipy_and_is_antisymmetric(a: list[int], b: list[int]) -> None:
    x, y = np.array(a, float), np.array(b, float)
    u, p = mann_whitney(x, y)
    u_back, p_back = mann_whitney(y, x)
    assert 0.0 <= p <= 1.0
    assert p == p_back
    assert u + u_back == len(a) * len(b)
    assert abs(rank_biserial(u, len(a), len(b)) + rank_biserial(u_back, len(b), len(a))) < 1e-12
    if len(set(a) | set(b)) > 1:
        ref = sps.mannwhitneyu(x, y, alternative="two-sided", method="asymptotic")
        assert abs(p - ref.pvalue) < 1e-9


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.integers(0, 10), min_size=1, max_size=60))
def test_ranks_sum_and_enps_range(values: list[int]) -> None:
    x = np.array(values, float)
    r = ranks(x)
    assert r.sum() == len(x) * (len(x) + 1) / 2
    assert -100.0 <= enps_rows(x[np.newaxis, :])[0] <= 100.0


@settings(max_examples=60, deadline=None)
@given(values=likert)
def test_mean_ci_holds_the_estimate_and_the_seed_fixes_it(values: list[int]) -> None:
    x = np.array(values, float)
    ci = bootstrap(x, mean_rows)
    assert ci is not None
    assert min(values) <= ci[0] <= x.mean() + 1e-9
    assert x.mean() - 1e-9 <= ci[1] <= max(values)
    assert bootstrap(x, mean_rows) == ci


@given(p=st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_holm_is_at_least_p_and_at_most_one(p: list[float]) -> None:
    adjusted = holm(p)
    assert all(raw <= adj <= 1.0 for raw, adj in zip(p, adjusted, strict=True))
    order = sorted(range(len(p)), key=lambda i: p[i])
    assert all(adjusted[i] <= adjusted[j] for i, j in itertools.pairwise(order))


tag_word = st.from_regex(r"[a-z][a-z0-9]{0,8}(-[a-z0-9]{1,5}){0,2}", fullmatch=True)


@given(tags=st.lists(tag_word, min_size=1, max_size=6, unique=True))
def test_every_written_tag_is_found(tags: list[str]) -> None:
    body = "\n\n".join(f"Paragraph about #{t} and more." for t in tags)
    assert set(inline_tags(body)) == set(tags)
