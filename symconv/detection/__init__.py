"""Object detection ops in JAX (jittable, batched, NHWC): box formats, IoU/GIoU, YOLOv2/v3 head
decoding, greedy non-maximum suppression with static output size, and anchor k-means.

Concrete inputs are validated on the host (``SymconvError`` subclasses naming the bad value)
before anything is traced; inside ``jax.jit`` the inputs are assumed valid.
"""

from symconv.detection.anchors import SYNTHETIC_CENTERS as SYNTHETIC_CENTERS
from symconv.detection.anchors import AnchorFit as AnchorFit
from symconv.detection.anchors import euclidean_kmeans as euclidean_kmeans
from symconv.detection.anchors import iou_kmeans as iou_kmeans
from symconv.detection.anchors import mean_best_iou as mean_best_iou
from symconv.detection.anchors import synthetic_box_sizes as synthetic_box_sizes
from symconv.detection.anchors import wh_iou as wh_iou
from symconv.detection.boxes import BOX_FORMATS as BOX_FORMATS
from symconv.detection.boxes import InvalidBoxFormatError as InvalidBoxFormatError
from symconv.detection.boxes import InvalidThresholdError as InvalidThresholdError
from symconv.detection.boxes import NegativeBoxSizeError as NegativeBoxSizeError
from symconv.detection.boxes import NonFiniteBoxError as NonFiniteBoxError
from symconv.detection.boxes import TooManyClustersError as TooManyClustersError
from symconv.detection.boxes import box_area as box_area
from symconv.detection.boxes import check_boxes as check_boxes
from symconv.detection.boxes import convert_boxes as convert_boxes
from symconv.detection.decode import CLASS_ACTIVATIONS as CLASS_ACTIVATIONS
from symconv.detection.decode import YoloDecoding as YoloDecoding
from symconv.detection.decode import decode_yolo as decode_yolo
from symconv.detection.iou import giou as giou
from symconv.detection.iou import iou as iou
from symconv.detection.iou import pairwise_giou as pairwise_giou
from symconv.detection.iou import pairwise_iou as pairwise_iou
from symconv.detection.nms import NMSResult as NMSResult
from symconv.detection.nms import check_iou_threshold as check_iou_threshold
from symconv.detection.nms import nms as nms
