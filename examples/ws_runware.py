import asyncio
import os

from runware import IImageInference, IInputs, Runware  # pip install runware==0.5.24

BASE = os.environ.get("IDEOGRAM_MOCK_URL", "http://127.0.0.1:8000")


async def main() -> None:
    runware = Runware(api_key="any-key", url=BASE.replace("http", "ws", 1) + "/v1")
    await runware.connect()
    request = IImageInference(
        model="ideogram:1@2",
        positivePrompt="Transform this design into a futuristic cyberpunk aesthetic",
        width=1024,
        height=1024,
        numberResults=2,
        inputs=IInputs(referenceImages=["c64351d5-4c59-42f7-95e1-eace013eddab"]),
        extraArgs={"providerSettings": {"ideogram": {"remixStrength": 75, "styleType": "RENDER_3D"}}},
    )
    images = await runware.imageInference(requestImage=request)
    print(len(images), "images", [image.imageURL.startswith(BASE) for image in images])

    request.taskUUID, request.deliveryMethod = None, "async"
    ack = await runware.imageInference(requestImage=request)
    results = await runware.getResponse(taskUUID=ack.taskUUID, numberResults=2)
    print(len(results), "images after getResponse")
    await runware.disconnect()


asyncio.run(main())
