/**
 * Dense linear algebra the numeric code shares: the {@link io.sparkprop.linalg.Gemm} interface over
 * EJML row-major matrices and its backends — pure-Java EJML, and Spark's netlib BLAS (native
 * OpenBLAS through JNI, or the Java Vector API) on the same arrays without copies — chosen by
 * {@link io.sparkprop.linalg.GemmBackend}.
 */
package io.sparkprop.linalg;
