package io.sparkprop.train;

import java.util.Collections;
import java.util.Iterator;

import io.sparkprop.data.Shard;
import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.nn.kernel.TrainingTerms;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple2;

/**
 * The executor side of one iteration: for the partition's shard, the blocks of this iteration's
 * slice of the epoch's order ({@link BlockSchedule}) go through the kernel, which adds into one
 * {@link GradientSum} allocated here, on the executor, only when the slice is not empty. The
 * result depends on the shard, the broadcast parameters and the iteration alone, so a re-run task
 * computes the same bits (dropout's masks included: they are keyed by the seed, the update, the shard and the
 * block) — with the GEMM backend the driver chose ({@link GemmChoice}); an executor
 * that cannot provide it fails the task, and one whose BLAS runs on another kind of CPU is reported.
 */
final class BatchGradient implements Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, GradientSum>>> {
    private static final long serialVersionUID = 1L;

    private final Shipped parameters;
    private final GemmChoice gemm;
    private final CollectionAccumulator<String> fingerprints;
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
    BatchGradient(Shipped parameters, GemmChoice gemm, CollectionAccumulator<String> fingerprints,
                  long seed, int epoch, int iterationInEpoch, int iterationsPerEpoch, boolean shuffle,
                  LongAccumulator blocksRead, TrainingTerms terms, long update) {
        this.parameters = parameters;
        this.gemm = gemm;
        this.fingerprints = fingerprints;
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
    public Iterator<Tuple2<Integer, GradientSum>> call(Integer partition, Iterator<Shard> shards) {
        if (!shards.hasNext()) {
            return Collections.emptyIterator();
        }
        Shard shard = shards.next();
        int blocks = shard.numBlocks();
        int start = BlockSchedule.sliceStart(blocks, iterationInEpoch, iterationsPerEpoch);
        int end = BlockSchedule.sliceEnd(blocks, iterationInEpoch, iterationsPerEpoch);
        if (start == end) {
            return Collections.emptyIterator();
        }
        int[] order = BlockSchedule.order(seed, epoch, shard.partition(), blocks, shuffle, new int[blocks]);
        Parameters params = parameters.value();
        BackpropKernel kernel = KernelCache.forTraining(params.spec(), gemm, shard.precision(), fingerprints);
        BackpropKernel.Weights weights = kernel.load(params);
        GradientSum sum = new GradientSum(params.spec());
        for (int pos = start; pos < end; pos++) {
            int k = order[pos];
            kernel.lossAndGradient(weights, shard.features(k), shard.targets(k), shard.weights(k), sum, terms,
                    TrainingTerms.blockKey(seed, update, shard.partition(), k));
        }
        blocksRead.add(end - start);
        return Collections.singletonList(new Tuple2<>(partition, sum)).iterator();
    }
}
