"""The nightly deployment: an inbox folder drained on a schedule, by one run or a group."""
