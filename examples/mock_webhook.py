import http.server
import json
import os
import threading
import uuid

import httpx

BASE = os.environ.get("IDEOGRAM_MOCK_URL", "http://127.0.0.1:8000")
received = []
arrived = threading.Semaphore(0)


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the webhook: one POST per image
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        received.append(("webhook", self.path, body["imageUUID"], self.headers["X-Delivery-ID"]))
        self.send_response(200)
        self.end_headers()
        arrived.release()

    def do_PUT(self) -> None:  # the upload: the raw image bytes
        data = self.rfile.read(int(self.headers["Content-Length"]))
        received.append(("upload", self.path, self.headers["Content-Type"], data[:3] == b"\xff\xd8\xff"))
        self.send_response(200)
        self.end_headers()
        arrived.release()

    def log_message(self, *args: object) -> None:
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=server.serve_forever, daemon=True).start()
receiver = f"http://127.0.0.1:{server.server_address[1]}"

task = {
    "taskType": "imageInference",
    "taskUUID": str(uuid.uuid4()),
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1024,
    "webhookURL": f"{receiver}/hooks/runware?token=secret",
    "uploadEndpoint": f"{receiver}/bucket/remix.jpg",
}
ack = httpx.post(f"{BASE}/v1", json=[task], headers={"Authorization": "Bearer any-key"})
print(ack.status_code, ack.json()["data"][0]["taskUUID"] == task["taskUUID"])
assert arrived.acquire(timeout=30) and arrived.acquire(timeout=30), "webhook and upload did not both arrive"
for kind, path, *details in sorted(received):
    print(kind, path, *(d if isinstance(d, bool) or "/" in d else "<uuid>" for d in details))
server.shutdown()
