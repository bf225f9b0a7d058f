package io.sparkprop.exec;

import java.util.Collections;
import java.util.Iterator;

import io.sparkprop.linalg.GemmChoice;
import io.sparkprop.nn.GradientSum;
import io.sparkprop.nn.Parameters;
import io.sparkprop.nn.kernel.BackpropKernel;
import io.sparkprop.nn.kernel.TrainingTerms;
import org.apache.spark.api.java.function.Function2;
import org.apache.spark.util.CollectionAccumulator;
import scala.Tuple2;

/**
 * What every task on a cached shard does before and around its own work: take the partition's shard, skip it
 * when it has nothing to do this time, read the shipped parameters ({@link Shipped}), take the thread's kernel
 * for the driver's GEMM ({@link KernelCache}; a training task also reports a GEMM fingerprint that differs from
 * the driver's), run, and return the result keyed by the partition for the ordered merge
 * ({@link OrderedTreeAggregate}). Subclasses say whether the shard has work ({@link #hasWork}) and do it
 * ({@link #run}); the result depends on the shard, the parameters and the task's own fields alone, so a re-run
 * task computes the same bits.
 *
 * @param <T> what a shard returns
 */
abstract class ShardTask<T> implements Function2<Integer, Iterator<Shard>, Iterator<Tuple2<Integer, T>>> {
    private static final long serialVersionUID = 1L;

    private final Shipped parameters;
    private final GemmChoice gemm;
    /** Where a training task reports a GEMM fingerprint other than the driver's; {@code null}: not reported. */
    private final CollectionAccumulator<String> fingerprints;

    ShardTask(Shipped parameters, GemmChoice gemm, CollectionAccumulator<String> fingerprints) {
        this.parameters = parameters;
        this.gemm = gemm;
        this.fingerprints = fingerprints;
    }

    @Override
    public final Iterator<Tuple2<Integer, T>> call(Integer partition, Iterator<Shard> shards) {
        if (!shards.hasNext()) {
            return Collections.emptyIterator();
        }
        Shard shard = shards.next();
        if (!hasWork(shard)) {
            return Collections.emptyIterator();
        }
        Parameters at = parameters.value();
        BackpropKernel kernel = fingerprints == null ? KernelCache.get(at.spec(), gemm, shard.precision())
                : KernelCache.forTraining(at.spec(), gemm, shard.precision(), fingerprints);
        return Collections.singletonList(new Tuple2<>(partition, run(shard, at, kernel))).iterator();
    }

    /** Whether this task reads any block of {@code shard}; a shard without work returns nothing. */
    abstract boolean hasWork(Shard shard);

    /** The task's work on {@code shard} from the shipped parameters {@code at} with the thread's {@code kernel}. */
    abstract T run(Shard shard, Parameters at, BackpropKernel kernel);

    /**
     * Adds the loss and gradient of the next {@code count} blocks of {@code blocks} into {@code sum}, with the
     * training terms; dropout's masks are keyed by (seed, update, shard, block) ({@link TrainingTerms#blockKey}).
     * Blocks on disk are read ahead of the kernel ({@link Shard#read}).
     */
    static void addGradients(BackpropKernel kernel, BackpropKernel.Weights weights, Shard shard, Shard.Blocks blocks,
                             int count, GradientSum sum, TrainingTerms terms, long seed, long update) {
        for (int i = 0; i < count; i++) {
            Shard.Block b = blocks.next();
            kernel.lossAndGradient(weights, b.features(), b.targets(), b.weights(), sum, terms,
                    TrainingTerms.blockKey(seed, update, shard.partition(), b.index()));
        }
    }

    /**
     * {@code at} loaded into {@code kernel}: with the shipped first-layer rows when {@code at} does not hold
     * {@code W_0} ({@link Shipped#firstLayerRows()}).
     */
    BackpropKernel.Weights load(BackpropKernel kernel, Parameters at) {
        return at.holdsFirstLayerWeights() ? kernel.load(at) : kernel.load(at, parameters.firstLayerRows());
    }

    /** The optimiser state shipped with the parameters ({@link Shipped#state()}): read it, never write it. */
    double[][] shippedState() {
        return parameters.state();
    }

    /** Counts bytes this task read from disk ({@link PackedData#diskBytesRead}). */
    void readFromDisk(long bytes) {
        parameters.readFromDisk(bytes);
    }
}
