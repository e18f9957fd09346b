"""Runs the official ``runware`` SDK (0.5.x, WebSocket only) against a live mock; argv[1] is its base URL.

Run with the Python of a venv that has ``runware`` installed (not the kit's own venv: ``runware``
and ``runware-sdk`` share the import name). Prints one line per check, then OK.
"""

from __future__ import annotations

import asyncio
import sys
import urllib.request

from runware import IImageInference, IInputs, Runware

WS_URL = sys.argv[1].rstrip("/").replace("http://", "ws://") + "/v1"
RED_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
IDEOGRAM = {"remixStrength": 75, "styleType": "RENDER_3D", "magicPrompt": "ON"}


def request(**changes: object) -> IImageInference:
    fields: dict[str, object] = {
        "model": "ideogram:1@2",
        "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
        "width": 1024,
        "height": 1024,
        "numberResults": 2,
        "inputs": IInputs(referenceImages=["data:image/png;base64," + RED_PIXEL_PNG]),
        "extraArgs": {"providerSettings": {"ideogram": IDEOGRAM}},
        **changes,
    }
    return IImageInference(**fields)  # type: ignore[arg-type]


async def main() -> None:
    runware = Runware(api_key="test-key", url=WS_URL)
    await runware.connect()
    try:
        images = await runware.imageInference(requestImage=request())
        assert len(images) == 2 and len({i.imageUUID for i in images}) == 2, images
        with urllib.request.urlopen(images[0].imageURL) as response:
            assert response.read(3) == b"\xff\xd8\xff"
        print("sync: 2 results, JPEG downloaded")

        ack = await runware.imageInference(requestImage=request(deliveryMethod="async", outputType="base64Data"))
        results = await runware.getResponse(taskUUID=ack.taskUUID, numberResults=2)
        assert len({r.imageUUID for r in results}) == 2, results
        assert all(r.imageBase64Data and r.imageBase64Data.startswith("/9j/") for r in results), results
        print("async: acknowledged, getResponse gave 2 results")

        bad = request(extraArgs={"providerSettings": {"ideogram": {"remixStrength": 150}}})
        try:
            await runware.imageInference(requestImage=bad)
        except Exception as exc:  # RunwareAPIError carrying the whole error item
            assert "providerSettings.ideogram.remixStrength" in str(exc) and "invalidRemixStrength" in str(exc), exc
            print(f"invalid remixStrength: {type(exc).__name__} names providerSettings.ideogram.remixStrength")
        else:
            raise AssertionError("remixStrength 150 was accepted")
    finally:
        await runware.disconnect()
    print("OK")


if __name__ == "__main__":
    asyncio.run(main())
