"""The `upload-orders` flow, its steps and wiring; rooms: read/, report/, cli/, nightly/."""
