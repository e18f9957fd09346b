"""ideogram_mock: a local mock of Runware's REST endpoint for ``ideogram:1@2``.

Entry points:

- :func:`create_app`: the Starlette (ASGI) app, for uvicorn, ``httpx.ASGITransport`` or respx.
- :class:`MockEngine`: the state and behaviour behind it, reusable by other transports.
- :class:`MockConfig`: the settings, with documented defaults.
- :func:`serve`: run the app with uvicorn and shut down gracefully (``ideogram-kit serve``).
"""

from .app import create_app
from .config import ConfigError, MockConfig
from .engine import MockEngine, Reply, TaskRun
from .server import serve

__all__ = ["ConfigError", "MockConfig", "MockEngine", "Reply", "TaskRun", "create_app", "serve"]
