"""The built-in models (edgec.models.registry looks them up). Importing this module does not
import torch (the model code loads when a model is built), so listing and stage caching stay
fast."""
from edgec.models.entry import InputSpec, ModelEntry, QualityRegion


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
# The rows Wav2Lip generates: its target input has the lower half masked out, the upper half is
# near a copy of the input and dilutes a whole-face PSNR.
WAV2LIP_REGION = QualityRegion("lower half of the face (the mouth the model generates)", 0.5, 1.0)

ENTRIES = []

ENTRIES.append(ModelEntry(
    name="wav2lip",
    summary="Wav2Lip generator (teacher)",
    factory=_wav2lip_factory(1.0, True),
    inputs=WAV2LIP_INPUTS, outputs=["output"],
    layer_namer=_wav2lip_layer_name, data_family="wav2lip", quality_region=WAV2LIP_REGION))

ENTRIES.append(ModelEntry(
    name="lite-wav2lip",
    summary="Lite Wav2Lip student: x0.25 channels, no residual blocks",
    factory=_wav2lip_factory(0.25, False),
    inputs=WAV2LIP_INPUTS, outputs=["output"],
    layer_namer=_wav2lip_layer_name, data_family="wav2lip", quality_region=WAV2LIP_REGION))


# LivePortrait (src/config/models.yaml of the public project). Released weights are one file per
# module: appearance_feature_extractor.pth, motion_extractor.pth, warping_module.pth,
# spade_generator.pth (spectral-norm parametrised), stitching_retargeting_module.pth (three
# nested state dicts).

def _liveportrait(class_name: str):
    def build():
        from edgec.models import liveportrait

        return getattr(liveportrait, class_name)()
    return build


def _spectral_adapter(obj):
    from edgec.models.liveportrait import fold_spectral_norm

    return fold_spectral_norm(obj) if isinstance(obj, dict) else obj


def _stitching_adapter(obj):
    from edgec.models.liveportrait import flatten_stitching

    return flatten_stitching(obj)


PORTRAIT_IMAGE = [InputSpec("image", (3, 256, 256))]

ENTRIES.append(ModelEntry(
    name="liveportrait-appearance",
    summary="LivePortrait appearance feature extractor (F): image -> 32x16x64x64 volume",
    factory=_liveportrait("AppearanceFeatureExtractor"), inputs=PORTRAIT_IMAGE,
    outputs=["feature_3d"], data_family="portrait", parity_batches=(1, 2)))

ENTRIES.append(ModelEntry(
    name="liveportrait-motion",
    summary="LivePortrait motion extractor (M, ConvNeXt-V2-tiny): keypoints, pose, expression",
    factory=_liveportrait("MotionExtractor"), inputs=PORTRAIT_IMAGE,
    outputs=["pitch", "yaw", "roll", "t", "exp", "scale", "kp"], data_family="portrait",
    parity_batches=(1, 2)))

ENTRIES.append(ModelEntry(
    name="liveportrait-warping",
    summary="LivePortrait warping module (W): dense motion, occlusion, 5-D grid sample",
    factory=_liveportrait("WarpingNetwork"),
    inputs=[InputSpec("feature_3d", (32, 16, 64, 64), -1.0, 1.0),
            InputSpec("kp_driving", (21, 3), -0.5, 0.5),
            InputSpec("kp_source", (21, 3), -0.5, 0.5)],
    outputs=["out", "occlusion_map", "deformation"], parity_batches=(1, 2),
    # Decomposed first: TensorRT 8.x cannot build a 5-D GridSample, and edgec targets TensorRT.
    export_variants={"grid_sample": ("decomposed", "native")}))

ENTRIES.append(ModelEntry(
    name="liveportrait-spade",
    summary="LivePortrait SPADE decoder (G): warped features -> 512x512 image",
    factory=_liveportrait("SPADEDecoder"), inputs=[InputSpec("feature", (256, 64, 64))],
    outputs=["image"], checkpoint_adapter=_spectral_adapter, parity_batches=(1, 2)))

ENTRIES.append(ModelEntry(
    name="liveportrait-stitching",
    summary="LivePortrait stitching and eye/lip retargeting MLPs (S)",
    factory=_liveportrait("StitchingRetargeting"),
    inputs=[InputSpec("stitching_input", (126,), -0.5, 0.5),
            InputSpec("lip_input", (65,), -0.5, 0.5), InputSpec("eye_input", (66,), -0.5, 0.5)],
    outputs=["stitching", "lip", "eye"], checkpoint_adapter=_stitching_adapter,
    parity_batches=(1, 2)))
