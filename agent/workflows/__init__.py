"""Floor workflows: what a scan, a weight or a touch means, and the rules it must pass."""
