"""Training and measuring the hand-print character model: python -m tools.icr.train | evaluate | corpus | loss."""
