"""Run a built-in model fast and measure it against the hardware's limit (``symconv bench``).

``bench(name, batch, hw)`` prepares the workload (:mod:`~symconv.tools.bench.workload`: the
model's state on the devices, its jitted forward call or training step, data parallel over the
chosen devices by :mod:`~symconv.tools.bench.parallel`), times it (:mod:`~symconv.tools.bench.run`)
against the device's peak (:mod:`~symconv.tools.bench.peaks`) and returns a :class:`BenchResult`,
which :func:`format_table` renders (:mod:`~symconv.tools.bench.report`).
"""

from symconv.tools.bench.parallel import DataParallel as DataParallel
from symconv.tools.bench.parallel import data_parallel as data_parallel
from symconv.tools.bench.peaks import DTYPES as DTYPES
from symconv.tools.bench.peaks import PEAKS as PEAKS
from symconv.tools.bench.peaks import Peak as Peak
from symconv.tools.bench.peaks import cpu_peak as cpu_peak
from symconv.tools.bench.peaks import peak_flops as peak_flops
from symconv.tools.bench.peaks import published_peak as published_peak
from symconv.tools.bench.report import FIELDS as FIELDS
from symconv.tools.bench.report import format_table as format_table
from symconv.tools.bench.report import render_bench as render_bench
from symconv.tools.bench.run import BenchResult as BenchResult
from symconv.tools.bench.run import bench as bench
from symconv.tools.bench.run import measure_workload as measure_workload
from symconv.tools.bench.workload import CPU_TUNING as CPU_TUNING
from symconv.tools.bench.workload import INITS as INITS
from symconv.tools.bench.workload import OPTIMIZERS as OPTIMIZERS
from symconv.tools.bench.workload import Workload as Workload
from symconv.tools.bench.workload import check_bench_input as check_bench_input
from symconv.tools.bench.workload import classification_loss as classification_loss
from symconv.tools.bench.workload import entry_of as entry_of
from symconv.tools.bench.workload import flat as flat
from symconv.tools.bench.workload import forward_fn as forward_fn
from symconv.tools.bench.workload import is_classifier as is_classifier
from symconv.tools.bench.workload import prepare as prepare
from symconv.tools.bench.workload import small_valid_hw as small_valid_hw
from symconv.tools.bench.workload import squared_loss as squared_loss
from symconv.tools.bench.workload import train_step_fn as train_step_fn
