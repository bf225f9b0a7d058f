/**
 * Dense linear algebra the numeric code shares: the {@link io.sparkprop.linalg.Gemm} interface over
 * EJML row-major matrices (and row-major slices of flat arrays, the layers of the parameters) and its
 * backends — pure-Java EJML, and Spark's netlib BLAS (native
 * OpenBLAS through JNI, or the Java Vector API) on the same arrays without copies — chosen by
 * {@link io.sparkprop.linalg.GemmBackend}, and decided once per fit on the driver
 * ({@link io.sparkprop.linalg.GemmChoice}) so that every executor sums in the same order; and a linear
 * model's product with a sparse block ({@link io.sparkprop.linalg.SparseProducts}); and the two formats a fit
 * can compute in ({@link io.sparkprop.linalg.Precision}: the GEMMs' float64 or float32).
 */
package io.sparkprop.linalg;
