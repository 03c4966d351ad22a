"""Developer tools that produce the project's test data (not part of the installed edgec
package: setup.py packages edgec only). Run from the repository root, e.g.
`python -m tools.trt_surface`."""
