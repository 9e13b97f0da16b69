"""Training: GuardZoo build -> router, experts and monolithic baseline, calibrated on dev data."""
