"""The model zoo: shared blocks, every architecture, and one catalogue of them.

Supervised segmenters and classifiers (family "supervised"), unsupervised anomaly models
(VAE, ceVAE, gmVAE, vqVAE: family "anomaly") and the OOD autoencoder (family "ood").

    from porelab.models import build_model
    model = build_model("unetpp", spatial_dims=3, deep_supervision=True)

Importing this package registers every architecture. Output conventions (logits,
deep-supervision heads) are described in `porelab.models.base`.
"""

# Architectures first, in the order `porelab models` lists them (registration order).
from porelab.models.unet import UNet  # isort: skip
from porelab.models.unetpp import UNetPlusPlus  # isort: skip
from porelab.models.unet3plus import UNet3Plus  # isort: skip
from porelab.models.mss_unet import MSSUNet  # isort: skip
from porelab.models.modular_unet import ModularUNet, channel_ladder  # isort: skip
from porelab.models.slicewise import SliceWiseDetector  # isort: skip
from porelab.models.deep_defect import DeepDefectDetector, boundary_band  # isort: skip
from porelab.models.dilated_defect import DilatedDefectDetector  # isort: skip
from porelab.models.patch_classifier import PatchClassifier  # isort: skip
from porelab.models.vae import VAE, ContextEncodingVAE, VAEOutput, mask_boxes, random_boxes  # isort: skip
from porelab.models.gmvae import GaussianMixtureVAE, gaussian_log_prob  # isort: skip
from porelab.models.vqvae import VQVAE, VectorQuantizerEMA, VQOutput  # isort: skip
from porelab.models.ood_autoencoder import AutoencoderOutput, OODAutoencoder  # isort: skip

from porelab.models.base import ModelInputError, Segmenter
from porelab.models.blocks import ConvBlock, Down, OutputHead, Up, logits_to_probabilities
from porelab.models.config import ModelConfig
from porelab.models.catalogue import (
    FAMILIES,
    ModelSpec,
    build_model,
    default_config,
    model_names,
    model_spec,
    register_model,
)
from porelab.models.summary import (
    ModelSummary,
    count_gflops,
    count_parameters,
    format_summary_table,
    summarize,
    summarize_all,
)

__all__ = [
    "ConvBlock",
    "DeepDefectDetector",
    "DilatedDefectDetector",
    "Down",
    "MSSUNet",
    "ModelConfig",
    "ModelInputError",
    "ModelSpec",
    "ModelSummary",
    "ModularUNet",
    "OutputHead",
    "PatchClassifier",
    "Segmenter",
    "SliceWiseDetector",
    "UNet",
    "UNet3Plus",
    "UNetPlusPlus",
    "Up",
    "boundary_band",
    "build_model",
    "channel_ladder",
    "count_gflops",
    "count_parameters",
    "default_config",
    "format_summary_table",
    "logits_to_probabilities",
    "model_names",
    "model_spec",
    "register_model",
    "summarize",
    "summarize_all",
    "AutoencoderOutput",
    "ContextEncodingVAE",
    "FAMILIES",
    "GaussianMixtureVAE",
    "OODAutoencoder",
    "VAE",
    "VAEOutput",
    "VQOutput",
    "VQVAE",
    "VectorQuantizerEMA",
    "gaussian_log_prob",
    "mask_boxes",
    "random_boxes",
]
