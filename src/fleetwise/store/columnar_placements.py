"""Job placements of the columnar jobs as rows, in SQL: one row per (job, host) with the
GPUs the job holds there, as :meth:`FleetData.records` reads them into ``placement``.

A job's placement is its stored JSON object of GPUs per host, else its GPUs spread over its
Slurm host list (``collect/importers/hostlist.py: spread``: evenly over the distinct hosts
in order, the first ``gpus % n`` one more). The streaming import keeps only host lists of
the plain forms (``jobs_stream._HOSTS_FORM``: items of a name with at most one bracket
group of ranges), which the SQL below expands as ``expand_hostlist`` does (ranges keep the
zero padding of their lower bound). Each distinct host list is expanded once.
"""

from __future__ import annotations

#: One item of a stored host list: a name with one bracket group, or a plain name.
_ITEM = r"[^\[\],]*\[[^\]]*\][^\[\],]*|[^\[\],]+"
#: Surrounding white space, as ``str.strip`` removes it from a host-list item.
_STRIP = r"^[\s\v]+|[\s\v]+$"


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def hosts_sql(col: str) -> str:
    """SQL: the hosts of the host list in ``col``, in order (duplicates kept)."""
    items = (
        f"list_filter(list_transform(regexp_extract_all({col}, {_lit(_ITEM)}), "
        f"lambda s: regexp_replace(s, {_lit(_STRIP)}, '', 'g')), lambda s: s <> '')"
    )
    lo = "split_part(r, '-', 1)"
    hi = f"coalesce(nullif(split_part(r, '-', 2), ''), {lo})"
    width = f"CASE WHEN starts_with({lo}, '0') THEN length({lo}) ELSE 0 END"
    number = (
        f"CASE WHEN length(n::VARCHAR) >= {width} THEN n::VARCHAR "
        f"ELSE lpad(n::VARCHAR, ({width})::INTEGER, '0') END"
    )
    ranges = (
        "flatten(list_transform(string_split(split_part(split_part(it, '[', 2), ']', 1), ','), "
        f"lambda r: list_transform(range({lo}::BIGINT, {hi}::BIGINT + 1), "
        f"lambda n: split_part(it, '[', 1) || {number} || split_part(it, ']', 2))))"
    )
    return (
        f"flatten(list_transform({items}, "
        f"lambda it: CASE WHEN contains(it, '[') THEN {ranges} ELSE [it] END))"
    )


def placements_sql(jobs: str = "jobs") -> str:
    """A SELECT of ``(source, job_id, host, gpus)``: the placement of each job of the
    relation ``jobs`` (a view name or a parenthesised SELECT of the stored columns)."""
    return f"""
SELECT j.source, j.job_id, h.host,
       (j.gpus // h.n + CASE WHEN h.k < j.gpus % h.n THEN 1 ELSE 0 END)::INTEGER AS gpus
FROM {jobs} j JOIN (
  SELECT nodelist, host, row_number() OVER (PARTITION BY nodelist ORDER BY pos) - 1 AS k,
         count(*) OVER (PARTITION BY nodelist) AS n
  FROM (
    SELECT nodelist, host, min(pos) AS pos FROM (
      SELECT nodelist, unnest(hosts) AS host, generate_subscripts(hosts, 1) AS pos
      FROM (
        SELECT nodelist, {hosts_sql("nodelist")} AS hosts FROM (
          SELECT DISTINCT nodelist FROM {jobs}
          WHERE coalesce(placement, '') = '' AND coalesce(nodelist, '') <> '' AND gpus > 0
        )
      )
    ) GROUP BY nodelist, host
  )
) h ON j.nodelist = h.nodelist
WHERE coalesce(j.placement, '') = '' AND j.gpus > 0 AND h.k < j.gpus
UNION ALL
SELECT source, job_id, e.key AS host, e.value AS gpus FROM (
  SELECT source, job_id, unnest(map_entries(placement::JSON::MAP(VARCHAR, INTEGER))) AS e
  FROM {jobs} WHERE coalesce(placement, '') <> ''
)
"""
