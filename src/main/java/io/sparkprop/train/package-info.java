/**
 * The data-parallel training loop: {@link io.sparkprop.train.Trainer} packs the data into cached
 * shards, broadcasts the parameters each iteration, sums the partitions' gradients in a fixed-order
 * pairwise tree ({@link io.sparkprop.train.OrderedTreeAggregate}), and applies an
 * {@link io.sparkprop.train.Optimizer} (SGD, momentum, Nesterov, Adam) with the ridge term on the
 * driver, recording a {@link io.sparkprop.train.TrainingHistory}; checkpoints hold a run's whole state
 * and identity. Every setting's default is in {@link io.sparkprop.train.Defaults}.
 */
package io.sparkprop.train;
