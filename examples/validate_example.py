import ideogram_kit

task = {
    "taskType": "imageInference",
    "taskUUID": "6ba7b824-9dad-41d1-80b4-00c04fd430c8",
    "model": "ideogram:1@2",
    "inputs": {"referenceImages": ["c64351d5-4c59-42f7-95e1-eace013eddab"]},
    "positivePrompt": "Transform this design into a futuristic cyberpunk aesthetic",
    "width": 1024,
    "height": 1000,
    "providerSettings": {"ideogram": {"remixStrenght": 75}},
}

for error in ideogram_kit.validate(task):  # a task, or a whole request array
    print(error.code, error.parameter, "|", error.message)

assert not ideogram_kit.is_valid(task)
try:
    ideogram_kit.check(task)  # raises InvalidPayload carrying every error
except ideogram_kit.InvalidPayload as exc:
    print(exc.errors[0].to_dict()["suggestion"])  # the Runware errors[] item the mock would send
