// Runs @runware/ai-sdk-provider with the Vercel AI SDK (`ai` 6, REST) against a live mock; argv[2] is its base URL.
//
// Run from an npm project that has both packages installed (tests/test_sdk_npm.py copies it there, as Node
// resolves an ES module's imports from the module's own directory). Prints one line per check, then OK.
import { createRunware } from "@runware/ai-sdk-provider";
import { generateImage } from "ai";

globalThis.AI_SDK_LOG_WARNINGS = false; // the provider adds a warning with the whole response to every call
// The provider calls the global crypto.randomUUID(), which Node 18 (Debian 12's nodejs) lacks in modules.
globalThis.crypto ??= (await import("node:crypto")).webcrypto;

const BASE = process.argv[2].replace(/\/$/, "");
const RED_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function assert(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

// The provider's default base URL is https://api.runware.ai/v1; it POSTs the task array there.
const runware = createRunware({ apiKey: "test-key", baseURL: `${BASE}/v1` });
// maxImagesPerCall (default 1) lets n: 2 go out as one task with numberResults 2, not two tasks.
const model = runware.image("ideogram:1@2", { maxImagesPerCall: 2 });

function remix(remixStrength, n) {
  return generateImage({
    model,
    prompt: "Transform this design into a futuristic cyberpunk aesthetic",
    size: "1024x1024",
    n,
    maxRetries: 0,
    // Spread last into the task by the provider: any Runware parameter goes here.
    providerOptions: {
      runware: {
        inputs: { referenceImages: [`data:image/png;base64,${RED_PIXEL_PNG}`] },
        providerSettings: { ideogram: { remixStrength } },
      },
    },
  });
}

const { images } = await remix(75, 2);
assert(images.length === 2, `2 images, got ${images.length}`);
// The provider asks for outputFormat PNG and downloads each imageURL itself.
for (const image of images) {
  assert(PNG.every((byte, i) => image.uint8Array[i] === byte), `a PNG, got ${image.mediaType}`);
}
console.log(`sync: 2 images, ${images[0].mediaType} downloaded by the provider`);

let failure;
try {
  await remix(150, 1);
} catch (error) {
  failure = error;
}
// The provider reads a singular "error" object only: a real {"errors": [...]} body is "Unknown Runware API error".
assert(failure !== undefined, "remixStrength 150 was accepted");
console.log(`invalid remixStrength: ${failure.name} status=${failure.statusCode} message=${failure.message}`);
console.log("OK");
