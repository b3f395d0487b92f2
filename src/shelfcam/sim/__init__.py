"""Synthetic labelled scenes (`shelfcam.sim.scenes`) and the camera simulator client."""
