"""The built-in models (edgec.models.registry looks them up). Importing this module does not
import torch (the model code loads when a model is built), so listing and stage caching stay
fast."""
from edgec.models.entry import InputSpec, ModelEntry, PublicFigure, QualityRegion, Window


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


# LatentSync (bytedance/LatentSync at a229c394, configs/unet/stage2.yaml and stage2_512.yaml:
# one architecture; 1.5 runs at 256 px, 1.6 at 512 px). Released weights: latentsync_unet.pt
# ({"state_dict", "global_step"}), the SD VAE sd-vae-ft-mse (diffusion_pytorch_model.bin,
# encoder and decoder in one file) and Whisper's tiny.pt. A UNet call denoises one sample of
# 16 frames: the batch axis is the sample (guidance's two halves are two samples).

def _latentsync(module: str, class_name: str, **kwargs):
    def build():
        import importlib

        return getattr(importlib.import_module("edgec.models." + module), class_name)(**kwargs)
    return build


def _vae_adapter(prefix: str):
    def adapt(obj):
        from edgec.models.sd_vae import vae_part

        return vae_part(obj, prefix)
    return adapt


def _whisper_adapter(obj):
    from edgec.models.whisper_tiny import whisper_encoder_state

    return whisper_encoder_state(obj)


def _latentsync_unet_inputs(latent: int):
    # Latents (scaled by 0.18215) and the mask share one tensor: noisy 4 | mask 1 | masked 4 |
    # reference 4; timesteps across DDIM's 1000; Whisper-tiny hidden states before the final
    # LayerNorm.
    return [InputSpec("sample", (13, 16, latent, latent), -4.0, 4.0),
            InputSpec("timestep", (), 0.0, 999.0),
            InputSpec("audio", (16, 50, 384), -3.0, 3.0)]


# Published sizes (onnx-tool's README model table, ThanatosShinji/onnx-tool; openai/whisper's
# README). LatentSync publishes no parameter or MAC count of its own.
_ONNX_TOOL = "ThanatosShinji/onnx-tool README, model zoo table"
_SD_UNET = PublicFigure("params", 859.52e6, _ONNX_TOOL,
                        "SD-1.5 UNet2DCondition, the 2-D layout this UNet inflates with 20 "
                        "motion modules, 13 input channels and 384-d cross-attention")
_VAE_PUBLIC = {
    "encoder": (PublicFigure("params", 34.16e6, _ONNX_TOOL, "SD VAE encoder"),
                PublicFigure("macs", 566371e6, _ONNX_TOOL,
                             "SD VAE encoder; input size not stated, 512 px assumed")),
    "decoder": (PublicFigure("params", 49.49e6, _ONNX_TOOL, "SD VAE decoder"),
                PublicFigure("macs", 1271959e6, _ONNX_TOOL,
                             "SD VAE decoder; input size not stated, 64x64 latents assumed")),
}


def _vae_figures(part: str, pixels: int):
    params, macs = _VAE_PUBLIC[part]
    return (params, macs) if pixels == 512 else (params,)


for _pixels in (256, 512):
    _suffix = "" if _pixels == 256 else "-512"
    _latent = _pixels // 8
    ENTRIES.append(ModelEntry(
        name="latentsync-unet" + _suffix,
        summary="LatentSync %s 3-D UNet (stage 2, %d px): 16 frames of %dx%d latents + audio "
                "-> noise" % ("1.5" if _pixels == 256 else "1.6", _pixels, _latent, _latent),
        factory=_latentsync("latentsync_unet", "LatentSyncUNet"),
        inputs=_latentsync_unet_inputs(_latent), outputs=["noise"], parity_batches=(1,),
        summarize_on_meta=True, public_figures=(_SD_UNET,),
        trace_shapes={"sample": (13, 2, 8, 8), "audio": (2, 50, 384)},
        window=Window(40, 16, "20 DDIM steps x guidance's 2 halves (LatentSync's defaults)")))
    ENTRIES.append(ModelEntry(
        name="latentsync-vae-encoder" + _suffix,
        summary="SD VAE encoder (sd-vae-ft-mse), %d px frame -> latent mean, log-variance"
                % _pixels,
        factory=_latentsync("sd_vae", "VaeEncoder"),
        inputs=[InputSpec("image", (3, _pixels, _pixels), -1.0, 1.0)],
        outputs=["mean", "logvar"], checkpoint_adapter=_vae_adapter("encoder."),
        parity_batches=(1, 2), summarize_on_meta=True,
        public_figures=_vae_figures("encoder", _pixels),
        window=Window(32, 16, "the masked and the reference frame of each of 16 frames")))
    ENTRIES.append(ModelEntry(
        name="latentsync-vae-decoder" + _suffix,
        summary="SD VAE decoder (sd-vae-ft-mse), %dx%d latents -> %d px frame"
                % (_latent, _latent, _pixels),
        factory=_latentsync("sd_vae", "VaeDecoder"),
        inputs=[InputSpec("latents", (4, _latent, _latent), -4.0, 4.0)], outputs=["image"],
        checkpoint_adapter=_vae_adapter("decoder."), parity_batches=(1, 2),
        summarize_on_meta=True, public_figures=_vae_figures("decoder", _pixels),
        window=Window(16, 16, "one decode a frame")))

ENTRIES.append(ModelEntry(
    name="whisper-tiny-encoder",
    summary="Whisper-tiny audio encoder (LatentSync's audio features): 30 s of log-mel -> "
            "5 hidden states x 1500 steps x 384",
    factory=_latentsync("whisper_tiny", "WhisperTinyEncoder"),
    inputs=[InputSpec("mel", (80, 3000), -1.5, 1.5)], outputs=["hidden_states"],
    checkpoint_adapter=_whisper_adapter, parity_batches=(1, 2),
    public_figures=(PublicFigure("params", 39e6, "openai/whisper README, model table",
                                 "Whisper tiny, encoder and text decoder together; the "
                                 "encoder alone is not published"),)))
