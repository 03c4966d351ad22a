"""The built-in models. Importing this module registers them."""
from edgec.models.registry import InputSpec, ModelEntry, register
from edgec.models.wav2lip import Wav2Lip, wav2lip_layer_name

# Wav2Lip inputs: one mel window per frame, normalised to [-4, 4]; two RGB frames in [0, 1].
WAV2LIP_INPUTS = [InputSpec("mel", (1, 80, 16), -4.0, 4.0), InputSpec("face", (6, 96, 96))]

register(ModelEntry(
    name="wav2lip",
    summary="Wav2Lip generator (teacher)",
    factory=lambda: Wav2Lip(width=1.0, residual=True),
    inputs=WAV2LIP_INPUTS, outputs=["output"],
    layer_namer=wav2lip_layer_name, data_family="wav2lip"))

register(ModelEntry(
    name="lite-wav2lip",
    summary="Lite Wav2Lip student: x0.25 channels, no residual blocks",
    factory=lambda: Wav2Lip(width=0.25, residual=False),
    inputs=WAV2LIP_INPUTS, outputs=["output"],
    layer_namer=wav2lip_layer_name, data_family="wav2lip"))
