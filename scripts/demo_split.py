"""Which public clips the demo network is trained on and which it never sees.

The held-out clips are three people of `../shared/data/portraits` (LivePortrait's example
videos, MIT licence) who appear in no training clip; the shipped demo data is cut from them, so
the demo's quality figures are measured on faces the network was not trained on. The six
lrs2-mini clips are cut from other portraits videos (d0, d3, d6, d10, d12, d20).
"""
HELD_OUT = ("driving-d11", "driving-d18", "driving-d19")
DEMO_SECONDS = 4.0
