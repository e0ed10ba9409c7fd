//! Holds `tests/onnx.rs`: every ONNX export run in tract and matched to the model's
//! own `forward`. The package exists so that tract is a dev-dependency of this test
//! alone.
