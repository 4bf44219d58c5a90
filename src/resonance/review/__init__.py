"""The social performance review: an evidence-backed summary of a person's period (HTML and PDF),
that only the person can share with their manager, revocably (docs/review.md).

- `report.review_data`: the figures and evidence of the period, from the metrics engine and the store.
- `render.render_html` / `render.render_pdf`: the document (SVG charts; PDF with WeasyPrint).
- `sharing`: share links for the manager, revocation, and the audited view.
"""
