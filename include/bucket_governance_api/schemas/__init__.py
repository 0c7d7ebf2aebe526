"""Request and response models of the API (pydantic v2); routers import them, never the other way."""
