/**
 * Data-parallel training, in the order of one fit: the settings ({@link io.sparkprop.train.MlpSettings},
 * where every setting's default lives) → the packed data ({@code PackedData}: cached shards, counted and
 * checked in one pass) → the loop ({@code TrainingLoop}) of rounds ({@code SynchronousRound}: broadcast
 * the parameters, every shard's gradient over its blocks, a fixed-order pairwise merge
 * ({@link io.sparkprop.train.OrderedTreeAggregate}), an {@link io.sparkprop.train.Optimizer} step with the
 * ridge term, clipping and the {@link io.sparkprop.train.StepSchedule}'s step on the driver; or {@code LocalStepsRound}: k steps on every shard between two merges and an
 * outer step from their mean delta), asking its stopping rules ({@code StoppingRule}) after every epoch and
 * recording a {@link io.sparkprop.train.TrainingHistory}; checkpoints hold a run's whole state and
 * identity. Per-class weights ({@link io.sparkprop.train.ClassWeights}) are counted in the packing pass.
 * {@link io.sparkprop.train.Trainer} is the entry point.
 */
package io.sparkprop.train;
