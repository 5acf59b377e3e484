"""The DevLake fixture: figures worked out by hand, and the same rows in PostgreSQL.

``tests/data/process/devlake/*.csv`` are DevLake domain-layer tables for two DevLake
projects (payments: GitHub repo, Actions deployments, a Jira board; search: GitHub repo,
Jenkins deployments, a Jira board). ``HAND`` holds DORA for the range 2024-03-01 00:00 to
2024-03-31 23:59:59.999 UTC, computed by hand from those rows following DevLake's ``dora``
plugin (``backend/plugins/dora/tasks``) and DORA dashboard SQL (``grafana/dashboards/
DORA.json``) step by step (see the comments). ``load_postgres`` builds a DevLake database
from ``devlake_schema.sql`` (DevLake's DDL) and the same CSV rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

DUMPS = Path(__file__).parent / "data" / "process" / "devlake"
SCHEMA = Path(__file__).parent / "data" / "process" / "devlake_schema.sql"

HAND = {
    "payments": {
        # Production successes finished in March: runs 1001, 1004, 1005, 1006 (1006 = two
        # deployment commits, finished at the later 08:50); 1000 is February's, 1002 went
        # to staging, 1003 failed.
        "deployments": 4,
        # Monday weeks of Mar 1-31: Feb 26 (Mar 1-3) 0, Mar 4: 2 (4th, 6th), Mar 11: 2
        # (13th, 14th), Mar 18: 0, Mar 25: 0 -> sorted 0,0,0,2,2 -> percent_rank <= 0.5: 0.
        "deployment_days_per_week": 0,
        "deployment_days_per_month": 4,
        # PR cycle minutes (coding + created->merged + merged->deployment commit finish,
        # each rounded up): #10 60+1440+20160 = 21660 (deployed by 1001 via commits_diffs
        # m1m1..base), #11 2940+1560+2760 = 7260, #12 45+151+1500 = 1696, #13 30+30+90 =
        # 150, #14 960+1680+105 = 2745, #15 60+900+80 = 1040 (its own commit finished 08:20);
        # #16 undeployed, #17 open. Sorted 150,1040,1696,2745,7260,21660 -> 1696.
        "prs_deployed": 6,
        "lead_time_minutes": 1696,
        # Stages in minutes: coding 60, 2940, 45, 30, 960, 60; pickup (first comment not
        # by the author: #11 u2 16:30) 390 (#11), 15 (#13), 180 (#14); review 1170, 15,
        # 1500; deploy 20160, 2760, 1500, 90, 105, 80.
        # Averages over the same 6 PRs in hours, a missing stage as 0 (DevLake's "DORA
        # Details - Lead Time for Changes" panels): coding 60+2940+45+30+960+60 = 4095,
        # pickup 0+390+0+15+180+0 = 585, review 0+1170+0+15+1500+0 = 2685, deploy
        # 20160+2760+1500+90+105+80 = 24695, cycle 21660+7260+1696+150+2745+1040 = 34551.
        "average_hours": {
            "coding": 4095 / 6 / 60,
            "pickup": 585 / 6 / 60,
            "review": 2685 / 6 / 60,
            "deploy": 24695 / 6 / 60,
            "cycle": 34551 / 6 / 60,
        },
        # Incidents -> the last production success finished before they were created:
        # 501 (03-04 15:00) -> 1001, 505 (03-06 12:00, open) -> 1004, 502 (03-14 08:30)
        # -> 1006 (its 08:20 commit), 503 -> 1006. 3 of 4 deployments failed.
        "failed_deployments": 3,
        "change_failure_rate": 0.75,
        # deployment finish -> resolution: 501 10:00->18:10 = 490, 502 08:50->09:20 = 30,
        # 503 08:50->next day 12:00 = 1630 -> 490; 505 unresolved.
        "recovered_incidents": 3,
        "recovery_time_minutes": 490,
        # 2021 report: lead_time_minutes of incidents resolved in March: 190, 50, 1440.
        "time_to_restore_minutes": 190,
        "bands": {
            "deployment_frequency": "medium",
            "lead_time": "high",
            "change_failure_rate": "low",
            "recovery_time": "high",
        },
    },
    "search": {
        # Jenkins builds 41-48, 50-52 (49 went to TESTING, 40 is February's).
        "deployments": 11,
        # Weeks: 0 (Mar 1-3), 1 (7th), 0, 5 (18-22), 4 (26-29) -> 0,0,1,4,5 -> 1.
        "deployment_days_per_week": 1,
        "deployment_days_per_month": 10,
        # #21 720+60+80 = 860 (41, diff s1s1..s0s0), #22 30+180+80 = 290 (44),
        # #23 60+1470+50 = 1580 (50, diff s10a..s8s8) -> 290,860,1580 -> 860.
        "prs_deployed": 3,
        "lead_time_minutes": 860,
        # coding 720+30+60 = 810, no reviews, deploy 80+80+50 = 210, cycle 2730.
        "average_hours": {
            "coding": 810 / 3 / 60,
            "pickup": 0 / 3 / 60,
            "review": 0 / 3 / 60,
            "deploy": 210 / 3 / 60,
            "cycle": 2730 / 3 / 60,
        },
        # 601 (03-20 15:10) -> 43 (10:20; 44 finished 15:20, after), 602 -> 51; 600 is
        # older than every deployment: no cause.
        "failed_deployments": 2,
        "change_failure_rate": 2 / 11,
        # 601: 10:20 -> 16:00 = 340; 602 resolved in April (out of range).
        "recovered_incidents": 1,
        "recovery_time_minutes": 340,
        "time_to_restore_minutes": 50,
        "bands": {
            "deployment_frequency": "high",
            "lead_time": "elite",
            "change_failure_rate": "low",
            "recovery_time": "high",
        },
    },
}


def load_postgres(url: str) -> None:
    """DevLake's tables (``SCHEMA``) filled with the CSV dumps' rows, times in UTC."""
    import psycopg

    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        conn.execute(SCHEMA.read_text())
        for path in sorted(DUMPS.glob("*.csv")):
            with path.open(newline="") as fh:
                rows = list(csv.DictReader(fh))
            cols = list(rows[0])
            names = ", ".join(f'"{c}"' for c in cols)
            marks = ", ".join(["%s"] * len(cols))
            sql = f"INSERT INTO {path.stem} ({names}) VALUES ({marks})"
            with conn.cursor() as cur:
                cur.executemany(sql, [[r[c] or None for c in cols] for r in rows])


def mysql_schema() -> str:
    """``SCHEMA`` in MySQL's dialect, as GORM writes DevLake's tables there (``datetime(3)``
    times without a zone, backquoted names)."""
    return SCHEMA.read_text().replace("timestamptz", "datetime(3)").replace('"table"', "`table`")


def load_mysql(socket: str, database: str) -> None:
    """DevLake's tables filled with the CSV dumps' rows, in a MySQL/MariaDB database."""
    import pymysql

    conn = pymysql.connect(unix_socket=socket, user="root", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {database}")
            cur.execute(f"USE {database}")
            cur.execute("SET time_zone = '+00:00'")
            for statement in mysql_schema().split(";"):
                if statement.strip():
                    cur.execute(statement)
            for path in sorted(DUMPS.glob("*.csv")):
                with path.open(newline="") as fh:
                    rows = list(csv.DictReader(fh))
                cols = list(rows[0])
                names = ", ".join(f"`{c}`" for c in cols)
                marks = ", ".join(["%s"] * len(cols))
                sql = f"INSERT INTO {path.stem} ({names}) VALUES ({marks})"
                cur.executemany(sql, [[r[c] or None for c in cols] for r in rows])
    finally:
        conn.close()
