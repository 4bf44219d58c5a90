"""The web app: FastAPI, server-rendered pages (Jinja2 + htmx) and the JSON API."""
