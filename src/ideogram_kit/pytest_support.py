"""What the pytest plugin's fixtures hand out: the in-process mock, the live server, the receiver.

:mod:`ideogram_kit.plugin` holds only hooks and fixtures and imports this module inside them,
so a test session that uses none of the fixtures never imports respx, Starlette or uvicorn.

- :class:`IdeogramMock` (fixture ``ideogram_mock``): the mock's Starlette app served **in
  process** to httpx (respx), requests (responses) and aiohttp (aioresponses). A dedicated
  thread runs an event loop that owns the :class:`~ideogram_mock.engine.MockEngine` and all its
  background work (async tasks, webhooks, uploads); every intercepted request, whatever the
  client, is handed to that loop with :func:`asyncio.run_coroutine_threadsafe`. Webhooks and
  uploads go to an in-memory transport: recorded, optionally answered by a handler, never sent
  to the network.
- :class:`IdeogramServer` (fixture ``ideogram_server``): the same app on a real loopback port.
- :class:`WebhookReceiver` (fixture ``ideogram_webhook_receiver``): a loopback HTTP server
  that records every POST and PUT attempt, accepted or refused (:class:`ReceivedDelivery`).
- :class:`IdeogramSettings`: the per-test settings (``ini`` keys, ``--ideogram-*`` options and
  the ``ideogram`` marker, merged).
- :func:`invalid_payload_report`: the text that fails a test that sent an invalid payload.

The classes live in one module per fixture family (:mod:`~ideogram_kit.inprocess_mock` with
one ``intercept_*`` module per HTTP client, :mod:`~ideogram_kit.live_server`,
:mod:`~ideogram_kit.webhook_receiver`, and :mod:`~ideogram_kit.plugin_engine` for what they
share); this module is their public face. The network guard, active in every session of the
plugin, is :mod:`~ideogram_kit.network_guard`.
"""

from __future__ import annotations

from .inprocess_mock import IdeogramMock
from .live_server import IdeogramServer
from .plugin_engine import (
    DEFAULT_BASE_URL,
    FAULT_CODES,
    IdeogramSettings,
    PluginEngine,
    invalid_payload_report,
)
from .webhook_receiver import ReceivedDelivery, WebhookReceiver

__all__ = [
    "DEFAULT_BASE_URL",
    "FAULT_CODES",
    "IdeogramMock",
    "IdeogramServer",
    "IdeogramSettings",
    "PluginEngine",
    "ReceivedDelivery",
    "WebhookReceiver",
    "invalid_payload_report",
]
