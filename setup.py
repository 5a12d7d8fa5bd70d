"""Installs infofrag and its command-line programs (console scripts, see COMMANDS)."""
import glob
import os

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))

# Each program is the `main` of its module in infofrag/cli/.
COMMANDS = {
    "infofrag_train": "train",
    "infofrag_evaluate": "evaluate",
    "infofrag_quickstart": "quickstart",
    "infofrag_reproduce": "reproduce",
    "infofrag_visualize_dataset": "visualize_dataset",
    "infofrag_study": "study",
    "infofrag_sample": "sample",
    "infofrag_export_embeddings": "export_embeddings",
    "infofrag_aggregate_results": "aggregate_results",
    "infofrag_postprocess": "postprocess",
    "infofrag_visualize_model": "visualize_model",
    "infofrag_reproduce_study": "reproduce_study",
}
# bin/ holds the same programs as scripts that run from a checkout, and dlib's command
# names (dlib_train, dlib_evaluate, ...; infofrag.cli.dlib_compat): put bin/ on PATH to
# run disentanglement_lib's shell scripts unchanged. They are not installed.

setup(
    name="infofrag",
    version="0.1.0",
    description=(
        "TF2 disentanglement_lib-compatible VAE training and channel-level "
        "information analysis (Bhattacharyya fingerprints, NMI/VI, hotspots, "
        "ensemble fusion) side by side with MIG, SAP, DCI."),
    long_description=open(os.path.join(HERE, "README.md")).read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.11,<3.14",
    packages=find_packages(include=["infofrag", "infofrag.*"]),
    entry_points={"console_scripts": [f"{name} = infofrag.cli.{module}:main"
                                      for name, module in COMMANDS.items()]},
    # The report's Jinja2 template, stylesheet and script (infofrag.reports.html_report).
    package_data={"infofrag.reports": ["templates/*"]},
    # The shipped gin configs, for non-editable installs (infofrag.utils.paths finds them).
    data_files=[
        (os.path.join("share", "infofrag", os.path.dirname(path)), [path])
        for path in sorted(glob.glob("gin_configs/**/*.*", recursive=True))
    ],
    install_requires=[
        # tf-keras pins the matching TensorFlow minor version itself.
        "tensorflow>=2.16,<2.22",
        "tf-keras>=2.16,<2.22",
        "tensorflow-probability>=0.24,<0.26",
        "gin-config>=0.5,<0.6",
        "numpy>=1.26,<2.5",
        "scipy>=1.11,<1.18",
        "scikit-learn>=1.3,<1.10",
        # DCI's fast mode (dci.mode = 'fast') finds its trees' splits with LightGBM.
        "lightgbm>=4.3,<5",
        "joblib>=1.3,<1.7",
        "threadpoolctl>=3.1,<4",
        "matplotlib>=3.7,<3.12",
        "h5py>=3.9,<3.17",
        "tqdm>=4.64,<5",
        "pandas>=2.0,<3.2",
        "Jinja2>=3.1,<4",
        # Sweeps and the pairwise stage on a LocalCluster or a real cluster (--scheduler).
        "dask[distributed]>=2024.8,<2027",
        # ONNX encoders from PyTorch or JAX (infofrag.zoo.onnx_model); runs standard
        # operators only.
        "onnxruntime>=1.17,<2",
    ],
    extras_require={
        # The browser test of report.html also needs Debian's chromium and chromium-driver.
        "test": ["pytest>=7.4,<10", "tensorflow-hub>=0.16,<0.17", "selenium>=4.11,<5",
                 "tensorboard>=2.16,<2.22", "onnx>=1.16,<2"],
        # infofrag_evaluate --tensorboard (TensorFlow no longer installs TensorBoard).
        "tensorboard": ["tensorboard>=2.16,<2.22"],
    },
)
