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
    # code: what Runware sends; kind: the kit's class of mistake, the same for every parameter
    print(error.code, f"({error.kind})", error.parameter, "|", error.message)

assert not ideogram_kit.is_valid(task)
try:
    ideogram_kit.check(task)  # raises InvalidPayload carrying every error
except ideogram_kit.InvalidPayload as exc:
    item = exc.errors[1].to_dict()  # the Runware errors[] item the mock would send
    print(item["code"], item["documentation"])

fixed = {**task, "height": 1024, "providerSettings": {"ideogram": {"remixStrength": 75}}, "checkNSFW": False}
result = ideogram_kit.validate(fixed)  # no errors; what Runware accepts but deprecates or ignores is a warning
print(result == [], [(warning.code, warning.parameter) for warning in result.warnings])
ideogram_kit.check(fixed)  # passes; check(fixed, strict=True) raises on the warning too
