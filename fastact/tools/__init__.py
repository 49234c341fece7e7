"""The tools around the library: what ``python -m fastact`` runs.

* :mod:`~fastact.tools.bench`: timings against the NumPy/SciPy reference,
  PyTorch, JAX and the memory roofline (``bench``), and a dense layer's step
  inside a pipeline (:mod:`~fastact.tools.pipeline`, ``bench --pipeline``);
* :mod:`~fastact.tools.verify`: errors in ULP against mpmath
  (:mod:`~fastact.tools.mpref`, the float64 oracle) and the peers;
* :mod:`~fastact.tools.profile`: instruction counts under callgrind;
* :mod:`~fastact.tools.peers`: PyTorch and JAX, each called the fastest way
  it has, as the registry names them.

``import fastact`` imports none of these; they need the ``test`` or ``bench``
extra for mpmath, PyTorch and JAX.
"""
