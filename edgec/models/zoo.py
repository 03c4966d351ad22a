"""The built-in models. Importing this module registers them; it does not import torch (the
model code loads when a model is built), so listing and stage caching stay fast."""
from edgec.models.registry import InputSpec, ModelEntry, register


def _wav2lip_factory(width: float, residual: bool):
    def build():
        from edgec.models.wav2lip import Wav2Lip

        return Wav2Lip(width=width, residual=residual)
    return build


def _wav2lip_layer_name(module_path: str) -> str:
    from edgec.models.wav2lip import wav2lip_layer_name

    return wav2lip_layer_name(module_path)


# Wav2Lip inputs: one mel window per frame, normalised to [-4, 4]; two RGB frames in [0, 1].
WAV2LIP_INPUTS = [InputSpec("mel", (1, 80, 16), -4.0, 4.0), InputSpec("face", (6, 96, 96))]

register(ModelEntry(
    name="wav2lip",
    summary="Wav2Lip generator (teacher)",
    factory=_wav2lip_factory(1.0, True),
    inputs=WAV2LIP_INPUTS, outputs=["output"],
    layer_namer=_wav2lip_layer_name, data_family="wav2lip"))

register(ModelEntry(
    name="lite-wav2lip",
    summary="Lite Wav2Lip student: x0.25 channels, no residual blocks",
    factory=_wav2lip_factory(0.25, False),
    inputs=WAV2LIP_INPUTS, outputs=["output"],
    layer_namer=_wav2lip_layer_name, data_family="wav2lip"))
