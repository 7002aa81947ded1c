"""Data augmentation in pure JAX: elastic deformation (U-Net) with bicubic resampling.

Jittable, vmap-able and deterministic for a PRNG key; bad input raises
:class:`symconv.errors.SymconvError`.
"""

from symconv.augment.bicubic import MODES as MODES
from symconv.augment.bicubic import cubic_kernel as cubic_kernel
from symconv.augment.bicubic import cubic_resize as cubic_resize
from symconv.augment.bicubic import cubic_resize_matrix as cubic_resize_matrix
from symconv.augment.bicubic import cubic_weights as cubic_weights
from symconv.augment.bicubic import interpolate as interpolate
from symconv.augment.elastic import elastic_deform as elastic_deform
from symconv.augment.elastic import elastic_deform_batch as elastic_deform_batch
from symconv.augment.elastic import elastic_field as elastic_field
from symconv.augment.elastic import warp as warp
from symconv.augment.elastic import warp_mask as warp_mask
