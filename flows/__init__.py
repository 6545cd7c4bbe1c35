"""The `upload-orders` flow, its steps and wiring; rooms: read/, post/, report/, cli/, nightly/."""
