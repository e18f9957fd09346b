// Runs the official @runware/sdk-js (WebSocket) against a live mock; argv[2] is its base URL (http://HOST:PORT).
//
// Run from an npm project that has @runware/sdk-js installed (tests/test_sdk_npm.py copies it there, as
// Node resolves an ES module's imports from the module's own directory). Prints one line per check, then OK.
import { Runware } from "@runware/sdk-js";

const BASE = process.argv[2].replace(/\/$/, "");
const RED_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const TASK = {
  model: "ideogram:1@2",
  positivePrompt: "Transform this design into a futuristic cyberpunk aesthetic",
  width: 1024,
  height: 1024,
  deliveryMethod: "sync",
  inputs: { referenceImages: [`data:image/png;base64,${RED_PIXEL_PNG}`] },
};
const SIGNATURES = { JPEG: [0xff, 0xd8, 0xff], PNG: [0x89, 0x50, 0x4e, 0x47], WEBP: [0x52, 0x49, 0x46, 0x46] };

function assert(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

function imageKind(bytes) {
  return Object.keys(SIGNATURES).find((kind) => SIGNATURES[kind].every((byte, i) => bytes[i] === byte));
}

// The SDK's own URL option: its default is wss://ws-api.runware.ai/v1 (it appends ?sdk=js&version=…).
const runware = new Runware({ apiKey: "test-key", url: `${BASE.replace(/^http/, "ws")}/v1` });
try {
  const images = await runware.imageInference({
    ...TASK,
    numberResults: 2,
    providerSettings: { ideogram: { remixStrength: 75 } },
  });
  assert(Array.isArray(images) && images.length === 2, `2 images, got ${JSON.stringify(images)}`);
  assert(new Set(images.map((image) => image.imageUUID)).size === 2, "2 distinct imageUUIDs");
  const response = await fetch(images[0].imageURL);
  const bytes = new Uint8Array(await response.arrayBuffer());
  const kind = imageKind(bytes);
  assert(response.status === 200 && kind !== undefined, `an image at ${images[0].imageURL}: ${response.status}`);
  console.log(`sync: 2 images, ${kind} downloaded`);

  let failure;
  try {
    await runware.imageInference({ ...TASK, providerSettings: { ideogram: { remixStrength: 150 } } });
  } catch (error) {
    failure = error;
  }
  // An API error is thrown as {error: <the first item of "errors">}, not as an Error.
  assert(failure !== undefined, "remixStrength 150 was accepted");
  const error = failure.error ?? {};
  console.log(`invalid remixStrength: code=${error.code} parameter=${error.parameter} message=${error.message}`);
  assert(error.parameter === "providerSettings.ideogram.remixStrength", `the parameter, in ${JSON.stringify(failure)}`);
  assert(error.code === "invalidRemixStrength", `code invalidRemixStrength, got ${error.code}`);
} finally {
  await runware.disconnect();
}
console.log("OK");
