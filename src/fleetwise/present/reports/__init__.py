"""Reports built from the store: one ``Report`` model (``model.py``) rendered as HTML,
PDF or PPTX.

- ``briefing.build_briefing(store)``: the executive briefing (summary, areas, objections).
- ``performance.build_performance(store)``: benchmark results and reproducibility appendix.
- ``improvement.build_improvement(store)``: before/after KPIs per sprint.
- ``html.render_html``, ``pdf.render_pdf``, ``pptx.render_pptx``: ``(report, path) -> path``.
"""
