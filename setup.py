from setuptools import find_packages, setup

setup(
    name="backprop-autograder",
    version="0.1.0",
    description="Otter-based autograder for the HW1.2 Backpropagation homework",
    packages=find_packages(include=["grader", "grader.*"]),
    package_data={"grader.assign": ["templates/*"]},
    python_requires=">=3.10",
    install_requires=[
        "otter-grader[grading]>=7,<8",
        "nbformat>=5.7",
        "nbclient>=0.7",
        "torch>=2.1,<3",
        "sympy>=1.12",
        "pyyaml>=6",
        "pyseccomp>=0.1.2,<0.2",     # the sandbox's system-call filter (ctypes over libseccomp)
        "py-landlock>=0.1.1,<0.2",   # the sandbox's file-system wall (Landlock, ctypes)
    ],
    extras_require={"report": ["matplotlib>=3.6"], "test": ["pytest>=7", "pytest-xdist>=3.8",
                                                              "matplotlib>=3.6"]},
    entry_points={"console_scripts": ["backprop-grader=grader.cli:main"]},
)
