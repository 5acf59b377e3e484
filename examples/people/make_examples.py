"""Write the example two-wave developer-experience survey (seeded, so the files never change).

Wave 1 (October 2026) is a Google Forms export, wave 2 (late November 2026, after the flaky
tests were quarantined and the noisy alerts pruned) a Microsoft Forms export of the same
questions. 52 engineers were asked; 38 and 41 answered. Each respondent has one attitude
that moves all their answers a little, and each item its own level; wave 2 moves the
feedback-loop and on-call items up, the rest stays where it was.

    .venv/bin/python examples/people/make_examples.py
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
LABELS = ["Strongly disagree", "Disagree", "Neither agree nor disagree", "Agree", "Strongly agree"]
TEAM_Q = "Which team are you on?"
NPS_Q = "How likely are you to recommend our ML platform to a colleague? (0-10)"
TEXT_Q = "What is the one thing that slows you down the most?"
#: (question, level in wave 1, change in wave 2); levels are on 1-5.
LIKERT = [
    ("I can get into a state of focused work (flow) on a normal day.", 3.1, 0.1),
    ("Tooling problems rarely interrupt me once I have started a task.", 2.7, 0.2),
    ("CI gives me a result I trust in under 20 minutes.", 2.2, 1.1),
    ("When a training job fails, I find out quickly and know why.", 2.6, 0.6),
    ("I have to keep too many systems in my head to ship a change.", 3.8, -0.1),
    ("The platform documentation answers my questions.", 2.8, 0.0),
    ("The pages I receive on call are actionable.", 2.4, 0.9),
    ("My on-call load is sustainable.", 2.9, 0.4),
]
TEAMS = ["training-platform", "research", "inference", "infra-sre"]
SLOWS = [
    "Flaky integration tests: I rerun the pipeline two or three times a day.",
    "Waiting for GPUs in the queue, especially for 16+ GPU jobs.",
    "Nobody knows which dashboard is the real one.",
    "Alerts at night that resolve themselves.",
    "Reproducing a failed run: the environment is never quite the same.",
    "Code review latency on the platform repo.",
    "Docs are out of date as soon as they are written.",
    "Getting a quota change approved takes a week.",
    "The data loader config is tribal knowledge.",
    "Context switching between support questions and my own work.",
]


def respondents(rng: np.random.Generator, n: int, shift: float) -> list[dict[str, object]]:
    rows = []
    for _ in range(n):
        z = rng.normal(0, 1)
        answers: dict[str, object] = {}
        for q, level, change in LIKERT:
            raw = level + change * shift + 0.55 * z + rng.normal(0, 0.8)
            answers[q] = int(np.clip(round(raw), 1, 5))
        answers[NPS_Q] = int(
            np.clip(round(7.0 + 1.2 * shift + 1.6 * z + rng.normal(0, 1.2)), 0, 10)
        )
        answers[TEAM_Q] = TEAMS[int(rng.choice(4, p=[0.35, 0.3, 0.2, 0.15]))]
        answers[TEXT_Q] = SLOWS[int(rng.integers(len(SLOWS)))] if rng.random() < 0.55 else ""
        rows.append(answers)
    return rows


def questions() -> list[str]:
    return [TEAM_Q, *(q for q, _, _ in LIKERT), NPS_Q, TEXT_Q]


def label(q: str, v: object) -> str:
    if q in (TEAM_Q, TEXT_Q):
        return str(v)
    if q == NPS_Q:
        return str(v)
    return LABELS[int(str(v)) - 1]


def google_forms(
    path: Path, rows: list[dict[str, object]], start: datetime, rng: np.random.Generator
) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Timestamp", *questions()])
        t = start
        for r in rows:
            t += timedelta(minutes=int(rng.integers(5, 400)), seconds=int(rng.integers(60)))
            stamp = f"{t.month}/{t.day}/{t.year} {t.hour}:{t.minute:02d}:{t.second:02d}"
            w.writerow([stamp, *(label(q, r[q]) for q in questions())])


def microsoft_forms(
    path: Path, rows: list[dict[str, object]], start: datetime, rng: np.random.Generator
) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ID", "Start time", "Completion time", "Email", "Name", *questions()])
        t = start
        for i, r in enumerate(rows, 1):
            t += timedelta(minutes=int(rng.integers(5, 400)), seconds=int(rng.integers(60)))
            done = t + timedelta(seconds=int(rng.integers(90, 600)))
            fmt = "%m/%d/%y %H:%M:%S"
            w.writerow(
                [
                    i,
                    t.strftime(fmt),
                    done.strftime(fmt),
                    "anonymous",
                    "",
                    *(label(q, r[q]) for q in questions()),
                ]
            )


def main() -> None:
    rng = np.random.default_rng(18)
    google_forms(
        HERE / "dx-survey-2026-10-google-forms.csv",
        respondents(rng, 38, 0.0),
        datetime(2026, 10, 5, 8, 30),
        rng,
    )
    microsoft_forms(
        HERE / "dx-survey-2026-11-microsoft-forms.csv",
        respondents(rng, 41, 1.0),
        datetime(2026, 11, 23, 8, 30),
        rng,
    )


if __name__ == "__main__":
    main()
