/**
 * The inputs: {@link io.sparkprop.data.Example} records, DataFrame columns as examples
 * ({@link io.sparkprop.data.DataFrames}), the IDX reader and sample data sets ({@link io.sparkprop.data.Samples}),
 * and generated data ({@link io.sparkprop.data.SparseSynthetic}, wide sparse rows). Nothing here runs a Spark
 * job; their packing into blocks is the executor side's ({@code io.sparkprop.exec}).
 */
package io.sparkprop.data;
