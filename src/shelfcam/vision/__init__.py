"""Pure image analysis: numpy arrays in, scores out."""
