"""The uniform predict interface every loaded model has, whatever its flavor.

``predict`` accepts a pandas DataFrame, a list of dict records, a dict of columns, or a 2-D
numpy array when the signature gives the column order; checks it against the signature;
applies the bundled preprocessor; and calls the model. Public as ``modelpack.pyfunc.PyFuncModel``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack._enforce import ColumnEnforcer, enforce_tensor
from modelpack._predict_methods import LABELLED, PARAM, check_method, label_classes
from modelpack._preprocess import first_stage
from modelpack._signature import ParamSpec, Schema, Signature, is_dataframe
from modelpack._tables import Table, as_table
from modelpack.exceptions import SchemaError, warn

if TYPE_CHECKING:
    from modelpack._manifest import Manifest
    from modelpack.flavors import Predictor

__all__ = ["PyFuncModel"]


class PyFuncModel:
    """A loaded model with one ``predict`` for every flavor.

    Built by :func:`modelpack.load_model`; not meant to be constructed directly.
    """

    def __init__(
        self,
        *,
        manifest: Manifest,
        model_dir: Path,
        flavor: str,
        predictor: Predictor,
        preprocessor: Any = None,
    ) -> None:
        self.metadata = manifest
        self.model_dir = model_dir
        self.flavor = flavor
        self._predictor = predictor
        self.preprocessor = preprocessor
        self.signature: Signature | None = (
            Signature.from_dict(manifest.signature) if manifest.signature else None
        )
        self._inputs: Schema | None = self.signature.inputs if self.signature else None
        self._enforce = (
            ColumnEnforcer(self._inputs)
            if self._inputs is not None and self._inputs.has_names and not self._inputs.is_tensor
            else None
        )
        self._params: tuple[ParamSpec, ...] = self.signature.params or () if self.signature else ()
        self._transform, self._kind = first_stage(
            preprocessor, manifest.preprocessor, predictor.input_kind
        )
        self._warned_extra: set[tuple[str, ...]] = set()
        # A signature that declares a parameter named predict_method keeps it for the model.
        self._dispatch = not any(p.name == PARAM for p in self._params)
        self._default_method: str | None = None

    # ------------------------------------------------------------------ introspection
    @property
    def input_schema(self) -> Schema | None:
        return self._inputs

    @property
    def output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature else None

    @property
    def input_kind(self) -> str:
        """What the first stage (preprocessor or model) consumes."""
        return self._kind

    @property
    def row_wise(self) -> bool:
        """True when requests may be merged into one ``predict`` call and split back."""
        return bool(getattr(self._predictor, "row_wise", False))

    @property
    def predict_methods(self) -> tuple[str, ...]:
        """The methods ``predict`` can run, by name, for ``params={"predict_method": name}``.

        Among ``predict``, ``predict_proba``, ``predict_log_proba`` and ``decision_function``,
        those the model has (a Pipeline has those of its last step).
        """
        return tuple(getattr(self._predictor, "methods", ("predict",)))

    @property
    def default_predict_method(self) -> str | None:
        """The method ``predict`` runs when the call names none (None: the model's own).

        Setting a method the model lacks is a SchemaError naming the methods it has.
        """
        return self._default_method

    @default_predict_method.setter
    def default_predict_method(self, method: str | None) -> None:
        if method is not None:
            check_method(method, self.predict_methods)
        self._default_method = method

    def get_raw_model(self) -> Any:
        """The native object behind this model (estimator, booster or PythonModel)."""
        return getattr(self._predictor, "model", self._predictor)

    def unwrap_python_model(self) -> Any:
        return self.get_raw_model()

    def __repr__(self) -> str:
        return f"<PyFuncModel flavor={self.flavor!r} path={str(self.model_dir)!r}>"

    # ------------------------------------------------------------------ predict
    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """Check ``data`` against the signature, preprocess it, and predict.

        ``params`` holds the parameters the signature declares, and optionally
        ``"predict_method"``: one of :attr:`predict_methods` (``"predict_proba"``, ...) to run
        instead of ``predict``. Probabilities and multi-class decision functions come back as
        a DataFrame whose columns are the class labels, where the model has them.

        Raises :class:`~modelpack.exceptions.SchemaError` naming the column and types when the
        input does not match the signature, or naming the methods the model has when asked
        for one it lacks.
        """
        if params is not None and not isinstance(params, Mapping):
            raise _params_not_mapping(params)
        method = self._default_method
        if params and self._dispatch and PARAM in params:
            params = dict(params)
            method = check_method(params.pop(PARAM), self.predict_methods)
        model_input = self.prepare(data)
        if self._transform is not None:
            model_input = self._transform(model_input)
        resolved = self._resolve_params(params)
        if method is None:
            return self._predictor.predict(model_input, resolved)
        return self._call(method, model_input, resolved)

    def _call(self, method: str, model_input: Any, params: dict[str, Any] | None) -> Any:
        call = getattr(self._predictor, "call", None)
        if call is None:  # a predictor that offers predict only
            return self._predictor.predict(model_input, params)
        out = call(method, model_input, params)
        if method in LABELLED:
            out = label_classes(out, getattr(self._predictor, "classes", None))
        return out

    def prepare(self, data: Any) -> Any:
        """The input after schema checks, in the layout the first stage consumes."""
        schema = self._inputs
        kind = self._kind
        if schema is not None and schema.is_tensor:
            spec = schema.specs[0]
            assert not isinstance(spec, str)
            return enforce_tensor(data, spec)  # type: ignore[arg-type]
        if self._enforce is None:
            if kind == "any" or _passthrough(data, kind):
                return data
            if kind == "array" and _nested_rows(data):  # [[...], ...]: rows without names
                import numpy as np

                return np.asarray(data)
            if kind == "frame" and _unnamed(data):  # no names to build columns from
                return data
            return _layout(as_table(data), kind)
        if kind == "records":  # records in, records out: no columns built (DictVectorizer)
            enforce = self._enforce
            if type(data) is dict:
                fast = enforce.columns_records(data)
            elif is_dataframe(data):
                fast = enforce.frame_records(data)
            else:
                fast = enforce.records(data)
            if fast is not None:
                if fast[1]:
                    self._warn_dropped(fast[1])
                return fast[0]
        table, dropped = self._enforce(data)
        if dropped:
            self._warn_dropped(dropped)
        return _layout(table, kind)

    def _warn_dropped(self, dropped: list[str]) -> None:
        key = tuple(dropped)
        if key not in self._warned_extra:
            self._warned_extra.add(key)
            warn(f"ignoring input column(s) not in the model's signature: {', '.join(dropped)}")

    def _resolve_params(self, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if params is not None and not isinstance(params, Mapping):
            raise _params_not_mapping(params)
        if not self._params:
            if params:
                raise SchemaError(
                    f"this model declares no inference parameters, got {', '.join(map(str, params))}"
                )
            return None
        known = {p.name: p for p in self._params}
        unknown = set(params or ()) - set(known)
        if unknown:
            raise SchemaError(
                f"unknown parameter(s) {', '.join(sorted(map(str, unknown)))}; the model accepts "
                f"{', '.join(known)}"
            )
        return {name: (params or {}).get(name, spec.default) for name, spec in known.items()}


def _params_not_mapping(params: object) -> SchemaError:
    return SchemaError(
        f"params must be a mapping of parameter names to values, such as "
        f"{{'factor': 2.0}}; got {type(params).__name__} {params!r:.80}"
    )


def _passthrough(data: Any, kind: str) -> bool:
    """Without a named signature, input already in the consumed layout goes through as is."""
    module = type(data).__module__
    if kind == "array":
        return module.startswith(("numpy", "scipy")) or module.startswith("pandas")
    if kind == "frame":
        return module.startswith("pandas")
    return False


def _nested_rows(data: Any) -> bool:
    return (
        isinstance(data, (list, tuple))
        and bool(data)
        and isinstance(data[0], (list, tuple))
        and not isinstance(data[0], Mapping)
    )


def _unnamed(data: Any) -> bool:
    """A plain sequence or array (not records): without a signature, nothing names its
    columns, so a model that takes frames gets it as the caller passed it."""
    if isinstance(data, (list, tuple)):
        return not (data and isinstance(data[0], Mapping))
    return type(data).__module__.startswith(("numpy", "scipy"))


def _layout(table: Table, kind: str) -> Any:
    if kind == "records":
        return table.to_records()
    if kind == "array" and table.is_numeric:
        return table.to_matrix()
    return table.to_frame()
