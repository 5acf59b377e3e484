"""The web dashboard (``fleetwise serve``): FastAPI pages with JSON twins."""

from fleetwise.present.web.app import create_app

__all__ = ["create_app"]
