"""Route modules: each defines a FastAPI `router` and is included automatically."""
