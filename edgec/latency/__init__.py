"""Workstation-side latency prediction for Jetsons: the estimator (cost model and its fit), the
fitting points, the standard networks' layer costs and the attribution of measured profiles to
layers. Nothing here runs on a board; it reads the board table in edgec.jetson.profiles."""
