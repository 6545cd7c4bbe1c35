"""A local Uniware look-alike for POST /uc/v1/order, with fault injection."""
