/**
 * The executor side: everything that runs on a shard inside a Spark job, and the driver's handle of those jobs.
 * Packing ({@link io.sparkprop.exec.ShardPacker}: a partition's rows, checked and in a canonical order — an
 * external merge sort, {@code CanonicalSort}, in bounded memory — into a {@link io.sparkprop.exec.Shard} of column
 * blocks, dense or sparse; one writer of rows into blocks, {@code BlockWriter}, which scoring shares); where the
 * blocks live (in memory within the executor's {@code StorageBudget}, the rest on its disk in their binary form,
 * {@code BlockCodec}, in chunks the block manager keeps, {@code DiskBlocks}, read ahead of the kernel by
 * {@link io.sparkprop.exec.Shard#read}); and the packed data of a fit ({@link io.sparkprop.exec.PackedData}:
 * the cached shards, counted and checked in one pass, and the one kind of job on them,
 * {@link io.sparkprop.exec.PackedData#onShards}; removed only once no task of theirs still runs,
 * {@code RunningTasks}); the parameters a job ships ({@link io.sparkprop.exec.Shipped})
 * and a sparse first layer's rows kept on the executors between jobs ({@link io.sparkprop.exec.FirstLayerRows}:
 * snapshots and deltas of the rows that changed);
 * the per-shard tasks, one base for their shared prologue ({@code ShardTask}: the shard, the empty check, the
 * shipped parameters, the thread's kernel from {@code KernelCache}) and three tasks
 * ({@link io.sparkprop.exec.BatchGradient}, {@link io.sparkprop.exec.LocalSteps},
 * {@link io.sparkprop.exec.HeldOutLoss}) reading blocks in the epoch's seeded order ({@code BlockSchedule});
 * the fixed-order merge of their results ({@link io.sparkprop.exec.OrderedTreeAggregate}), or their merge and the
 * step slice by slice on the executors ({@link io.sparkprop.exec.SlicedExchange}, the rule's state sharded there); the models' block-wise
 * scoring ({@link io.sparkprop.exec.BlockScorer}); and failed jobs turned back into the input error a user needs
 * ({@link io.sparkprop.exec.SparkJobs}). The driver's algorithms ({@code train}, {@code ridge}) sit above it. All
 * of it is {@link io.sparkprop.util.Internal}.
 */
package io.sparkprop.exec;
