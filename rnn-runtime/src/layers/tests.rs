//! Tests of the recurrent kernels.
