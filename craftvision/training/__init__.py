"""Training: trainer, metrics, calibration, ONNX export with a parity check, model cards.

Only ``trainer`` and ``export`` need torch; ``metrics`` and ``calibration`` are plain numpy so that
evaluation of ONNX bundles stays torch-free.

Example:
    >>> from craftvision.training.trainer import TrainConfig, train      # doctest: +SKIP
    >>> result = train(TrainConfig(data="data/fibre", out="runs/fibre"))  # doctest: +SKIP
"""
