/**
 * Export of trained models as ONNX ({@link io.sparkprop.onnx.OnnxExport}), so that they run without Spark. Uses
 * the network and parameter types of {@code nn}; the Spark ML models of {@code ml} call it.
 */
package io.sparkprop.onnx;
