"""Built-in formulas, one per op type. Each is a pure function of the op and input shapes.

MACs follow torch.utils.flop_counter and fvcore (conv: output elements x C_in/groups x kernel
volume; transposed conv: input elements x C_out/groups x kernel volume; linear: rows x in x out).
Everything else is ``other_ops``, one op per element touched, as stated per formula. Importing
this package registers every formula (the registry imports it).
"""

from __future__ import annotations

from convcost.core.formulas import layers, tensor

__all__ = ["layers", "tensor"]
