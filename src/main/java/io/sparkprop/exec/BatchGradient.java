package io.sparkprop.exec;

import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.nn.kernel.TrainingTerms;
import io.sparkprop.util.Internal;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;

/**
 * The executor side of one synchronous iteration: for the partition's shard, the blocks of this iteration's
 * slice of the epoch's order ({@link BlockSchedule}) go through the kernel, which adds into one
 * {@link GradientSum} allocated here, on the executor, only when the slice is not empty. The
 * result depends on the shard, the shipped parameters and the iteration alone, so a re-run task
 * computes the same bits (dropout's masks included: they are keyed by the seed, the update, the shard and the
 * block) — with the GEMM backend the driver chose ({@link GemmChoice}); an executor
 * that cannot provide it fails the task, and one whose BLAS runs on another kind of CPU is reported.
 */
@Internal
public final class BatchGradient extends ShardTask<GradientSum> {
    private static final long serialVersionUID = 1L;

    private final long seed;
    private final int epoch;
    private final int iterationInEpoch;
    private final int iterationsPerEpoch;
    private final boolean shuffle;
    private final LongAccumulator blocksRead;
    private final TrainingTerms terms;
    private final long update;

    /**
     * @param terms  dropout, label smoothing and class factors of the training objective
     * @param update the 0-based update this gradient is for: with the seed, the shard and the block, the key of
     *               the dropout masks ({@link TrainingTerms#blockKey})
     */
    public BatchGradient(Shipped parameters, GemmChoice gemm, CollectionAccumulator<String> fingerprints,
                         long seed, int epoch, int iterationInEpoch, int iterationsPerEpoch, boolean shuffle,
                         LongAccumulator blocksRead, TrainingTerms terms, long update) {
        super(parameters, gemm, fingerprints);
        this.seed = seed;
        this.epoch = epoch;
        this.iterationInEpoch = iterationInEpoch;
        this.iterationsPerEpoch = iterationsPerEpoch;
        this.shuffle = shuffle;
        this.blocksRead = blocksRead;
        this.terms = terms;
        this.update = update;
    }

    @Override
    boolean hasWork(Shard shard) {
        int blocks = shard.numBlocks();
        return BlockSchedule.sliceStart(blocks, iterationInEpoch, iterationsPerEpoch)
                != BlockSchedule.sliceEnd(blocks, iterationInEpoch, iterationsPerEpoch);
    }

    @Override
    GradientSum run(Shard shard, Parameters at, BackpropKernel kernel) {
        int blocks = shard.numBlocks();
        int start = BlockSchedule.sliceStart(blocks, iterationInEpoch, iterationsPerEpoch);
        int end = BlockSchedule.sliceEnd(blocks, iterationInEpoch, iterationsPerEpoch);
        int[] order = BlockSchedule.order(seed, epoch, shard.partition(), blocks, shuffle, new int[blocks]);
        GradientSum sum = GradientSum.like(at);
        try (Shard.Blocks stream = shard.read(order, start, end)) {
            addGradients(kernel, load(kernel, at), shard, stream, end - start, sum, terms, seed, update);
            readFromDisk(stream.diskBytes());
        }
        blocksRead.add(end - start);
        return sum;
    }
}
